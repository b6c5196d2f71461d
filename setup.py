"""The migrations (top-level `migrations/`) ship inside the package as `loyalty/migrations`,
so `pip install .` can run `loyalty db upgrade` without the source tree."""
from setuptools import find_packages, setup

setup(packages=find_packages(include=["loyalty", "loyalty.*", "rules", "rules.*"])
      + ["loyalty.migrations", "loyalty.migrations.versions"],
      package_dir={"loyalty.migrations": "migrations"})       # its files: setup.cfg, [options.package_data]
