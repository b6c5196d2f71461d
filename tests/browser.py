"""A real headless Chromium (Debian's chromium and chromium-driver, which `make test`
installs) driven by selenium, with the network it may use limited to loopback: no
background, sync or update traffic, a fresh profile each time. Console messages are kept
so a test can require that a page logs no error."""
import shutil
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--window-size=1400,2200", "--lang=en-US")


def binary(name):
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is missing: `make test` installs Debian's chromium and chromium-driver")
    return found


class Browser:
    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="loyalty-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = binary("chromium")
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(options=options, service=Service(executable_path=binary("chromedriver")))
        self.driver.set_page_load_timeout(60)
        self.driver.set_script_timeout(60)

    def console_errors(self):
        return [entry for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

    def screenshot(self, name):
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.driver.save_screenshot(str(path))
        return path

    def close(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)
