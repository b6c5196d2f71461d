"""The customer panel in a real headless Chromium against a real gunicorn on PostgreSQL: on
/me and embedded in a shop's page on another loopback origin, it shows what the balance
and history endpoints answer (points available, pending and expiring, tier and the spend
to the next, discount, priority support, every entry's reason), speaks Russian and
Danish, says when a link has expired or the service cannot be read, and fits 320 px.
Screenshots of each state are kept in test-artifacts/."""
import threading
import urllib.parse
from datetime import date, datetime, time, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask_migrate import upgrade
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from loyalty.extensions import db
from tests.api import bearer, make_key, token
from tests.browser import Browser
from tests.conftest import make_app
from tests.servers import Gunicorn
from tests.webhooks import deliver_shop, purchase

TODAY = datetime.now(timezone.utc).date()
CUSTOMER = "c-panel"

READ_PANEL = """
const panel = document.querySelector("loyalty-panel"), root = panel.shadowRoot;
const fields = {};
for (const e of root.querySelectorAll("[data-field]"))
  fields[e.dataset.field] = {value: e.dataset.value, text: e.textContent, on: e.dataset.on || null,
                             next: e.dataset.next || null};
const bar = root.querySelector("progress");
const problem = root.querySelector("[data-error]");
return {state: panel.dataset.state, fields, text: root.textContent,
        progress: bar && {value: bar.value, max: bar.max, label: bar.getAttribute("aria-label"),
                          role: bar.computedRole || null},
        entries: [...root.querySelectorAll("li")].map((li) => ({id: Number(li.dataset.id), kind: li.dataset.kind,
                                                                  reason: li.querySelector(".reason").textContent,
                                                                  text: li.textContent})),
        error: problem && {kind: problem.dataset.error, text: problem.textContent,
                           role: problem.getAttribute("role")}};"""

# Every element with text of its own, against the nearest background that is not
# transparent (white when none): the WCAG contrast ratio of the lowest one.
LOWEST_CONTRAST = """
const root = document.querySelector("loyalty-panel").shadowRoot;
const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
                             return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
let lowest = 21, where = null;
for (const e of root.querySelectorAll("*")) {
  if (![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
  let b = e, bg = null;
  while (b && b.nodeType === 1) { const c = getComputedStyle(b).backgroundColor; if (rgb(c)[3] !== 0) { bg = c; break; }
                                  b = b.parentNode instanceof ShadowRoot ? b.parentNode.host : b.parentNode; }
  const [a, z] = [lum(rgb(getComputedStyle(e).color)), lum(rgb(bg || "rgb(255,255,255)"))];
  const ratio = (Math.max(a, z) + 0.05) / (Math.min(a, z) + 0.05);
  if (ratio < lowest) { lowest = ratio; where = e.tagName + " " + e.textContent.slice(0, 40); }
}
return [lowest, where];"""


def at(days_ago):
    return int(datetime.combine(TODAY - timedelta(days=days_ago), time(12), tzinfo=timezone.utc).timestamp())


def euros(amount):
    """How en-US writes an amount of EUR minor units (no float)."""
    return f"€{amount // 100:,}.{amount % 100:02d}"


def us_date(day):
    day = date.fromisoformat(day)
    return f"{day:%b} {day.day}, {day.year}"


class Site:
    """A shop's own site on another loopback origin: fixed pages, served from a thread."""

    def __init__(self):
        pages = self.pages = {}

        class Page(BaseHTTPRequestHandler):
            def do_GET(self):
                body = pages.get(urllib.parse.urlsplit(self.path).path)
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def shop_page(script, credential, lang="en", panel_attributes=""):
    """An account page whose own CSS would wreck the panel if it leaked into it."""
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>My account</title><link rel="icon" href="data:,">
<style>section, ol {{ display: none !important; }} dd {{ font-size: 2px !important; }}</style></head>
<body><h1>My account</h1>
<loyalty-panel token="{credential}" {panel_attributes}></loyalty-panel>
<script src="{script}"></script></body></html>"""


@pytest.fixture(scope="module")
def stage(postgres_server):
    """A customer with points pending (a purchase 2 days ago), available (a purchase 40 days
    ago released by `loyalty jobs run`, goodwill from support, less a redemption), expiring
    (every available lot has its date), in gold (1,050.00 spent this year); a gunicorn that
    lists one shop origin, a second shop origin it does not list, and a Chromium."""
    url = postgres_server.create_database("panel_browser")
    app = make_app(url)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    client, runner = app.test_client(), app.test_cli_runner()
    assert deliver_shop(client, purchase(customer=CUSTOMER, order="o-old", amount=60_000, created=at(40))) == "processed"
    jobs = runner.invoke(args=["jobs", "run"])
    assert jobs.exit_code == 0, jobs.output
    assert deliver_shop(client, purchase(customer=CUSTOMER, order="o-new", amount=45_000, created=at(2))) == "processed"
    support, shop = make_key(runner, "support"), make_key(runner, "shop")
    assert client.post(f"/v1/support/customers/{CUSTOMER}/adjustments",
                       json={"points": 150, "reason": "Parcel arrived late"}, headers=bearer(support)).status_code == 201
    assert client.post(f"/v1/customers/{CUSTOMER}/redemptions", json={"points": 500, "order_id": "o-redeem"},
                       headers={**bearer(shop), "Idempotency-Key": "panel-1"}).status_code == 201
    with app.app_context():
        db.engine.dispose()

    listed, unlisted = Site(), Site()
    # Threads: a sync worker stalls for its timeout on a connection Chromium opened ahead
    # and left idle, which a page with a script and two reads makes likely.
    server, browser = Gunicorn(url, workers=1, LOYALTY_PANEL_ORIGINS=listed.origin,
                               GUNICORN_CMD_ARGS="--threads 4"), None
    try:
        browser = Browser()
        yield {"server": server, "browser": browser, "listed": listed, "unlisted": unlisted}
    finally:
        if browser is not None:
            browser.close()
        server.stop()
        listed.close()
        unlisted.close()


def read(stage, path, credential):
    status, body = stage["server"].request("GET", path, headers=bearer(credential))
    assert status == 200, body
    return body


def shown(browser, url, state="ready"):
    """Open `url` and wait for the panel to finish; answer what it shows."""
    driver = browser.driver
    driver.get(url)
    try:
        WebDriverWait(driver, 30).until(lambda d: d.execute_script(
            "const p = document.querySelector('loyalty-panel');"
            "return p && ['ready', 'error'].includes(p.dataset.state)"))
    except TimeoutException:
        raise AssertionError(f"{url}: {driver.execute_script(READ_PANEL)} {browser.console_errors()}") from None
    panel = driver.execute_script(READ_PANEL)
    assert panel["state"] == state, (panel, browser.console_errors())
    return panel


def assert_shows_the_balance(panel, balance, history, outlook):
    fields, points, tier = panel["fields"], balance["points"], balance["tier"]
    assert points["available"] > 0 and points["pending"] > 0 and points["expiring"], balance
    assert fields["available"]["value"] == str(points["available"])
    assert fields["available"]["text"] == f"{points['available']:,} points"
    assert fields["pending"]["value"] == str(points["pending"])
    assert fields["pending"]["text"] == f"{points['pending']:,} points"
    soonest = points["expiring"][0]
    assert (fields["expiring"]["value"], fields["expiring"]["on"]) == (str(soonest["points"]), soonest["on"])
    assert fields["expiring"]["text"] == f"{soonest['points']:,} points on {us_date(soonest['on'])}"

    assert tier["name"] == "gold" and tier["next"]["name"] == "platinum"
    assert (fields["tier"]["value"], fields["tier"]["text"]) == ("gold", "Gold")
    needed, spent = tier["next"]["spend_needed"]["amount"], balance["qualifying_spend"]["amount"]
    assert fields["spend_needed"]["value"] == str(needed) and fields["spend_needed"]["next"] == "platinum"
    assert fields["spend_needed"]["text"] == f"Spend {euros(needed)} more to reach Platinum."
    assert panel["progress"] == {"value": spent, "max": spent + needed, "label": "Progress to Platinum",
                                 "role": panel["progress"]["role"]}
    assert panel["progress"]["role"] in (None, "progressbar")

    assert fields["discount"]["value"] == str(balance["discount_percent"]) == "7"
    assert fields["discount"]["text"] == f"{balance['discount_percent']}%"
    assert fields["priority"]["value"] == str(balance["priority_support"]).lower() == "true"
    assert fields["priority"]["text"] == "Yes"
    # What lies ahead (/outlook): when the pending points become available, the response
    # target, and until when the spend the next tier needs is enough.
    [release] = outlook["pending"]                                   # the purchase of 2 days ago
    assert release["points"] == points["pending"]
    assert (fields["pending_on"]["value"], fields["pending_on"]["on"]) == (str(release["points"]), release["on"])
    assert fields["pending_on"]["text"] == f"{release['points']:,} points on {us_date(release['on'])}"
    assert fields["response_target"]["value"] == str(outlook["response_target_hours"]) == "2"
    assert fields["response_target"]["text"] == "Answer within 2 hours"
    assert fields["spend_until"]["on"] == outlook["next_tier_spend_counts_until"] is not None
    assert us_date(outlook["next_tier_spend_counts_until"]) in fields["spend_until"]["text"]
    assert "will_downgrade" not in fields and outlook["will_downgrade"] is None

    entries = history["entries"]
    assert [e["id"] for e in panel["entries"]] == [e["id"] for e in entries]         # newest first
    assert [e["kind"] for e in panel["entries"]] == [e["kind"] for e in entries]
    for entry, served in zip(panel["entries"], entries):
        assert entry["reason"] == served["reason"] and served["reason"]
    kinds = {e["kind"] for e in entries}
    assert {"earn", "welcome", "release", "adjustment", "redemption"} <= kinds, kinds
    assert "Parcel arrived late" in panel["text"] and "Redeemed on order o-redeem" in panel["text"]


def test_the_me_page_shows_the_balance_and_history_the_api_serves(stage):
    browser, server, credential = stage["browser"], stage["server"], token(CUSTOMER)
    balance = read(stage, f"/v1/customers/{CUSTOMER}/balance", credential)
    history = read(stage, f"/v1/customers/{CUSTOMER}/transactions?limit=20", credential)
    browser.console_errors()                                   # start from a clean log
    panel = shown(browser, f"{server.base}/me?token={credential}")
    browser.screenshot("panel-en.png")
    assert_shows_the_balance(panel, balance, history, read(stage, f"/v1/customers/{CUSTOMER}/outlook", credential))
    assert browser.driver.execute_script("return document.documentElement.lang") == "en"
    lowest, where = browser.driver.execute_script(LOWEST_CONTRAST)
    assert lowest >= 4.5, f"contrast {lowest:.2f} at {where}"
    assert browser.console_errors() == []


def test_the_history_pages_on_with_a_real_button_from_the_keyboard(stage):
    browser, server, credential = stage["browser"], stage["server"], token(CUSTOMER)
    every = [e["id"] for e in read(stage, f"/v1/customers/{CUSTOMER}/transactions?limit=100", credential)["entries"]]
    assert len(every) > 3
    site = stage["listed"]
    site.pages["/paged"] = shop_page(f"{server.base}/panel.js", credential, panel_attributes='limit="3"')
    panel = shown(browser, site.origin + "/paged")
    assert [e["id"] for e in panel["entries"]] == every[:3]
    driver, focused = browser.driver, None
    for _ in range(10):                                         # Tab until the button has the focus
        ActionChains(driver).send_keys(Keys.TAB).perform()
        focused = driver.execute_script("const a = document.querySelector('loyalty-panel').shadowRoot.activeElement;"
                                        "return a && a.tagName + ':' + a.textContent")
        if focused == "BUTTON:Show more":
            break
    assert focused == "BUTTON:Show more"
    def count(d):
        return len(d.execute_script(READ_PANEL)["entries"])
    while (before := count(driver)) < len(every):
        ActionChains(driver).send_keys(Keys.ENTER).perform()      # the focus stays on the button
        WebDriverWait(driver, 30).until(lambda d, before=before: count(d) > before)
    assert [e["id"] for e in driver.execute_script(READ_PANEL)["entries"]] == every
    assert driver.execute_script("return document.querySelector('loyalty-panel').shadowRoot"
                                 ".querySelector('button').hidden") is True
    assert browser.console_errors() == []


def test_the_panel_speaks_russian_and_danish(stage):
    browser, server, credential = stage["browser"], stage["server"], token(CUSTOMER)
    driver = browser.driver
    # /me picks the page's language from Accept-Language, which the browser sends.
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setUserAgentOverride", {
        "userAgent": driver.execute_script("return navigator.userAgent"), "acceptLanguage": "ru-RU,ru;q=0.9"})
    try:
        panel = shown(browser, f"{server.base}/me?token={credential}")
        browser.screenshot("panel-ru.png")
    finally:
        driver.execute_cdp_cmd("Network.setUserAgentOverride", {
            "userAgent": driver.execute_script("return navigator.userAgent"), "acceptLanguage": "en-US"})
    assert driver.execute_script("return document.documentElement.lang") == "ru"
    assert "Доступно" in panel["text"] and "История" in panel["text"] and "Золото" in panel["text"]
    assert panel["fields"]["priority"]["text"] == "Да"
    assert "Available" not in panel["text"]
    assert browser.console_errors() == []

    # Embedded: the element's own `lang` (the shop's page is English).
    site = stage["listed"]
    site.pages["/konto"] = shop_page(f"{server.base}/panel.js", credential,
                                     panel_attributes=f'lang="da" api="{server.base}"')
    panel = shown(browser, site.origin + "/konto")
    browser.screenshot("panel-da.png")
    assert "Tilgængelige" in panel["text"] and "Historik" in panel["text"] and "Guld" in panel["text"]
    assert panel["fields"]["priority"]["text"] == "Ja"
    assert panel["fields"]["discount"]["text"].replace("\u00a0", " ") == "7 %"      # Danish writes 7 %
    assert browser.console_errors() == []


def test_an_expired_or_forged_link_says_so(stage):
    browser, server = stage["browser"], stage["server"]
    for credential in (token(CUSTOMER, expires_in=-60), token(CUSTOMER, secret="not-the-secret" * 4),
                       token("c-someone-else"), "not-a-token"):
        panel = shown(browser, f"{server.base}/me?token={credential}", state="error")
        assert panel["error"] == {"kind": "expired", "role": "alert",
                                  "text": "This link has expired or is not valid. Ask the shop for a new one."}
        if credential == "not-a-token":
            browser.screenshot("panel-expired.png")
    browser.console_errors()                  # the refused reads log their 401/404: expected here


def test_embedded_on_a_listed_origin_it_renders_and_on_another_it_says_it_cannot_read(stage):
    browser, server, credential = stage["browser"], stage["server"], token(CUSTOMER)
    balance = read(stage, f"/v1/customers/{CUSTOMER}/balance", credential)
    history = read(stage, f"/v1/customers/{CUSTOMER}/transactions?limit=20", credential)
    listed, unlisted = stage["listed"], stage["unlisted"]
    for site in (listed, unlisted):
        site.pages["/account"] = shop_page(f"{server.base}/panel.js", credential)

    browser.console_errors()
    panel = shown(browser, listed.origin + "/account")
    assert_shows_the_balance(panel, balance, history, read(stage, f"/v1/customers/{CUSTOMER}/outlook", credential))
    # The shop's CSS hides sections and lists and shrinks <dd>: none of it reaches the panel.
    assert browser.driver.execute_script(
        "const r = document.querySelector('loyalty-panel').shadowRoot;"
        "return [getComputedStyle(r.querySelector('section')).display, getComputedStyle(r.querySelector('ol')).display,"
        " getComputedStyle(r.querySelector('dd')).fontSize]") == ["block", "block", "20px"]
    assert browser.console_errors() == []

    panel = shown(browser, unlisted.origin + "/account", state="error")
    assert panel["error"]["kind"] == "offline"
    assert panel["error"]["text"] == "The loyalty service cannot be reached right now. Try again later."
    assert "Try again" in panel["text"]
    browser.console_errors()                  # the refused CORS read is logged: expected here


def test_at_320_pixels_nothing_scrolls_sideways(stage):
    browser, server, credential = stage["browser"], stage["server"], token(CUSTOMER)
    driver = browser.driver
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 320, "height": 1400, "deviceScaleFactor": 1, "mobile": True})
    try:
        panel = shown(browser, f"{server.base}/me?token={credential}")
        assert driver.execute_script("return window.innerWidth") == 320
        widths = driver.execute_script(
            "const s = document.querySelector('loyalty-panel').shadowRoot.querySelector('section');"
            "return [document.documentElement.scrollWidth, document.body.scrollWidth, s.scrollWidth, s.clientWidth]")
        browser.screenshot("panel-320.png")
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert widths[0] <= 320 and widths[1] <= 320, widths
    assert widths[2] <= widths[3], widths                      # nothing inside the panel overflows either
    assert panel["fields"]["available"]["value"]
    assert browser.console_errors() == []
