"""The dashboard in a real headless Chromium against a real gunicorn on PostgreSQL: it logs
in with an admin key, loads with no console error, and draws every chart with the numbers
of the reports the admin API serves. The screenshot is kept in test-artifacts/."""
import calendar
import json
import urllib.request
from datetime import date, datetime, time, timedelta, timezone

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.api import bearer, make_key
from tests.browser import Browser
from tests.conftest import migrated_app
from tests.servers import Gunicorn
from tests.webhooks import deliver_shop, purchase, refund

TODAY = datetime.now(timezone.utc).date()
# The colours dashboard.js gives its series, in order.
COLOURS = ["#2b6cb0", "#c05621", "#2f855a", "#b83280"]
COUNT_COLOUR = """
const [name, colour] = arguments, chart = window.dashboard.charts[name], canvas = chart.ctx.canvas;
const pixels = chart.ctx.getImageData(0, 0, canvas.width, canvas.height).data;
const [r, g, b] = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
let found = 0;
for (let i = 0; i < pixels.length; i += 4)
  if (pixels[i] === r && pixels[i + 1] === g && pixels[i + 2] === b && pixels[i + 3] === 255) found++;
return found;"""


def at(days_ago):
    return int(datetime.combine(TODAY - timedelta(days=days_ago), time(12), tzinfo=timezone.utc).timestamp())


def epoch(day):
    return calendar.timegm(date.fromisoformat(day).timetuple())


@pytest.fixture
def shop_history(postgres_server, app_factory):
    url = postgres_server.create_database("dashboard_browser")
    app = migrated_app(app_factory, url)
    client, runner = app.test_client(), app.test_cli_runner()
    for customer, order, amount, days_ago in (("c-1", "o-1", 150_000, 300), ("c-1", "o-2", 20_000, 100),
                                              ("c-2", "o-3", 30_000, 250), ("c-2", "o-4", 25_000, 60),
                                              ("c-3", "o-5", 10_000, 200), ("c-4", "o-6", 600_000, 20)):
        assert deliver_shop(client, purchase(customer=customer, order=order, amount=amount,
                                             created=at(days_ago))) == "processed"
    assert deliver_shop(client, refund(order="o-2", refund_id="r-1", amount=5_000, created=at(90))) == "processed"
    just_now = int(datetime.now(timezone.utc).timestamp()) - 60         # this month's purchase: gold, 7 % off
    assert deliver_shop(client, purchase(customer="c-1", order="o-7", amount=10_000, created=just_now)) == "processed"
    support, shop = make_key(runner, "support"), make_key(runner, "shop")
    for customer, points in (("c-1", 700), ("c-4", 900)):
        client.post(f"/v1/support/customers/{customer}/adjustments", json={"points": 1000, "reason": "sorry"},
                    headers=bearer(support))
        assert client.post(f"/v1/customers/{customer}/redemptions", json={"points": points, "order_id": "x"},
                           headers={**bearer(shop), "Idempotency-Key": customer}).status_code == 201
    return url, make_key(runner, "admin")


def served(server, admin, path):
    request = urllib.request.Request(server.base + path, headers=bearer(admin))
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def test_the_dashboard_logs_in_and_draws_the_reports_in_chromium(shop_history):
    url, admin = shop_history
    server, browser = Gunicorn(url, workers=1), None
    try:
        browser = Browser()
        driver = browser.driver
        driver.get(server.base + "/admin")
        assert driver.current_url.endswith("/admin/login")
        driver.find_element(By.ID, "key").send_keys(admin)
        driver.find_element(By.ID, "login").click()
        try:
            WebDriverWait(driver, 60).until(
                lambda d: d.execute_script("return window.dashboard && window.dashboard.ready"))
        except Exception:
            raise AssertionError(f"{driver.current_url}: {driver.find_element(By.TAG_NAME, 'body').text[:500]} "
                                 f"{browser.console_errors()}") from None
        browser.screenshot("dashboard.png")
        assert browser.console_errors() == []
        drawn = driver.execute_script("return window.dashboard.reports")
        charts = {name: driver.execute_script(f"return window.dashboard.charts[{name!r}].data")
                  for name in ("accounting", "tiers", "churn", "lifetime_value", "cost")}

        first = drawn["accounting"]["periods"][0]["start"]
        assert first == f"{TODAY.year - (TODAY.month <= 11)}-{(TODAY.month - 12) % 12 + 1:02d}-01"   # 12 months
        reports = {"liability": served(server, admin, "/v1/admin/reports/liability"),
                   "accounting": served(server, admin, f"/v1/admin/reports/accounting?from={first}"),
                   "tiers": served(server, admin, "/v1/admin/reports/tiers"),
                   "customers": served(server, admin, "/v1/admin/reports/customers"),
                   "cost": served(server, admin, "/v1/admin/reports/cost")}
        assert drawn == reports

        periods = reports["accounting"]["periods"]
        assert charts["accounting"] == [[epoch(p["start"]) for p in periods]] + [
            [p[name] for p in periods] for name in ("earned", "redeemed", "expired", "clawed_back", "closing")]
        months = reports["tiers"]["months"]
        assert charts["tiers"] == [[epoch(m["end"]) for m in months]] + [
            [m["tiers"][tier] for m in months] for tier in ("standard", "gold", "platinum")]
        by_tier = reports["customers"]["by_tier"]
        assert charts["churn"] == [[0, 1, 2], [by_tier[t]["churn_rate"] for t in ("standard", "gold", "platinum")]]
        assert charts["lifetime_value"] == [[0, 1, 2], [by_tier[t]["lifetime_value"]["amount"]
                                                        for t in ("standard", "gold", "platinum")]]
        cost = reports["cost"]["by_tier"]
        assert charts["cost"] == [[0, 1, 2], [cost[t]["discounts_given"]["amount"] for t in cost],
                                  [cost[t]["redeemed_value"]["amount"] for t in cost]]
        assert cost["gold"]["redeemed_value"]["amount"] == 700 and cost["platinum"]["redeemed_value"]["amount"] == 900
        assert cost["gold"]["discounts_given"]["amount"] == 10_000 * 7 // 93                  # o-7
        assert by_tier["standard"]["churned"] == 1 and by_tier["platinum"]["lifetime_value"]["amount"] > 0

        for name, colour in (("accounting", COLOURS[0]), ("tiers", COLOURS[0]), ("churn", COLOURS[1]),
                             ("lifetime_value", COLOURS[2]), ("cost", COLOURS[0]), ("cost", COLOURS[3])):
            assert driver.execute_script(COUNT_COLOUR, name, colour) > 20, f"{name}: no {colour} pixels drawn"
        cards = {card.get_attribute("data-field"): card.text
                 for card in driver.find_elements(By.CSS_SELECTOR, "#liability dd")}
        assert cards["available"].replace(",", "") == str(reports["liability"]["available"])
        assert cards["value"] == f"€{reports['liability']['value']['amount'] / 100:,.2f}"
        rows = driver.find_elements(By.CSS_SELECTOR, "#cohorts tbody tr")
        assert [row.get_attribute("data-cohort") for row in rows] == [
            c["cohort"] for c in reports["customers"]["cohort_retention"]]
        shares = [[float(cell.get_attribute("data-share"))
                   for cell in row.find_elements(By.CSS_SELECTOR, "td[data-share]")] for row in rows]
        assert shares == [c["months"] for c in reports["customers"]["cohort_retention"]]

        driver.find_element(By.ID, "logout").click()
        WebDriverWait(driver, 30).until(lambda d: d.current_url.endswith("/admin/login"))
        driver.get(server.base + "/admin")
        assert driver.current_url.endswith("/admin/login")
        assert browser.console_errors() == []
    finally:
        if browser is not None:
            browser.close()
        server.stop()
