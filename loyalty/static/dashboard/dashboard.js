// The admin dashboard: fetches each report's JSON (/admin/reports/NAME, the session cookie
// authenticates) and draws it with uPlot. Money stays in integer minor units in the chart
// data; only the labels turn it into the currency's major unit. What is drawn is kept in
// window.dashboard (reports and charts) so a test can hold the charts to the reports.
"use strict";
(function () {
  const dashboard = window.dashboard = {reports: {}, charts: {}, ready: false};
  const COLOURS = ["#2b6cb0", "#c05621", "#2f855a", "#b83280", "#6b46c1", "#718096", "#975a16"];

  const digits = (currency) => new Intl.NumberFormat("en", {style: "currency", currency})
    .resolvedOptions().maximumFractionDigits;
  const money = (amount, currency) => new Intl.NumberFormat(undefined, {style: "currency", currency})
    .format(amount / 10 ** digits(currency));
  const percent = (share) => `${(share * 100).toFixed(1)} %`;
  const seconds = (isoDate) => Date.parse(`${isoDate}T00:00:00Z`) / 1000;
  const status = (text) => { document.getElementById("status").textContent = text; };

  async function fetchReport(name, query) {
    const response = await fetch(`/admin/reports/${name}?${new URLSearchParams(query)}`,
                                 {credentials: "same-origin", headers: {Accept: "application/json"}});
    if (response.status === 401) { window.location.assign("/admin/login"); throw new Error("logged out"); }
    const body = await response.json();
    if (!response.ok) throw new Error(`${name}: ${body.error ? body.error.message : response.status}`);
    return body;
  }

  function draw(name, options, data) {
    const target = document.getElementById(`chart-${name}`);
    target.replaceChildren();
    if (dashboard.charts[name]) dashboard.charts[name].destroy();
    const width = Math.max(320, target.clientWidth || 560);
    dashboard.charts[name] = new uPlot({width, height: 260, ...options}, data, target);
    target.dataset.drawn = "true";
  }

  const line = (label, index, extra) => ({label, stroke: COLOURS[index % COLOURS.length], width: 2, ...extra});

  function categories(labels) {     // an x axis of named bars: 0, 1, 2, ... labelled with `labels`
    return {
      scales: {x: {time: false, range: [-0.5, labels.length - 0.5]}},
      axes: [{splits: () => labels.map((_, i) => i), values: (u, splits) => splits.map((i) => labels[i] ?? "")}],
    };
  }

  function bars(label, index, align) {      // align 0: centred on its tick; -1 / 1: left / right of it
    return {label, fill: COLOURS[index % COLOURS.length], stroke: COLOURS[index % COLOURS.length], width: 0,
            paths: uPlot.paths.bars({size: [align ? 0.35 : 0.6, 80], align})};
  }

  function liability(report) {
    const cards = [["Available points", report.available.toLocaleString()],
                   ["Pending points", report.pending.toLocaleString()],
                   ["Value at the redemption rate", money(report.value.amount, report.value.currency)],
                   ["Expected breakage", percent(report.expected_breakage)],
                   ["Expected cost", money(report.expected_cost.amount, report.expected_cost.currency)]];
    const list = document.querySelector("#liability dl");
    list.replaceChildren(...cards.flatMap(([label, value], i) => {
      const term = document.createElement("dt"), detail = document.createElement("dd");
      term.textContent = label;
      detail.textContent = value;
      detail.dataset.field = ["available", "pending", "value", "expected_breakage", "expected_cost"][i];
      return [term, detail];
    }));
  }

  function accounting(report) {
    const periods = report.periods;
    const names = ["earned", "redeemed", "expired", "clawed_back", "closing"];
    draw("accounting", {series: [{}, ...names.map((n, i) => line(n.replace("_", " "), i))],
                        axes: [{}, {size: 70}]},
         [periods.map((p) => seconds(p.start)), ...names.map((n) => periods.map((p) => p[n]))]);
  }

  function tiers(report) {
    const months = report.months, names = Object.keys(months[0] ? months[0].tiers : {});
    draw("tiers", {series: [{}, ...names.map((n, i) => line(n, i))], axes: [{}, {size: 70}]},
         [months.map((m) => seconds(m.end)), ...names.map((n) => months.map((m) => m.tiers[n]))]);
  }

  function byTier(report) {
    const names = Object.keys(report.by_tier), groups = names.map((n) => report.by_tier[n]);
    const currency = groups.length ? groups[0].lifetime_value.currency : "EUR";
    const x = names.map((_, i) => i);
    const axes = categories(names);
    draw("churn", {...axes, series: [{}, bars("churn rate", 1, 0)],
                   axes: [...axes.axes, {size: 60, values: (u, splits) => splits.map(percent)}]},
         [x, groups.map((g) => g.churn_rate)]);
    draw("lifetime_value", {...axes, series: [{}, bars("lifetime value", 2, 0)],
                            axes: [...axes.axes, {size: 100, values: (u, splits) => splits.map((v) => money(v, currency))}]},
         [x, groups.map((g) => g.lifetime_value.amount)]);
  }

  function cost(report) {
    const names = Object.keys(report.by_tier), groups = names.map((n) => report.by_tier[n]);
    const currency = report.all.members_spend.currency;
    const axes = categories(names);
    draw("cost", {...axes, series: [{}, bars("discounts given", 0, -1), bars("points redeemed", 3, 1)],
                  axes: [...axes.axes, {size: 100, values: (u, splits) => splits.map((v) => money(v, currency))}]},
         [names.map((_, i) => i), groups.map((g) => g.discounts_given.amount), groups.map((g) => g.redeemed_value.amount)]);
  }

  function cohorts(report) {
    const table = document.createElement("table"), rows = report.cohort_retention;
    const widest = Math.max(0, ...rows.map((r) => r.months.length));
    const head = table.createTHead().insertRow();
    ["cohort", "customers", ...Array.from({length: widest}, (_, i) => `+${i}`)].forEach((text) => {
      const cell = document.createElement("th");
      cell.textContent = text;
      head.append(cell);
    });
    const body = table.createTBody();
    for (const row of rows) {
      const tr = body.insertRow();
      tr.dataset.cohort = row.cohort;
      tr.insertCell().textContent = row.cohort;
      tr.insertCell().textContent = row.customers;
      row.months.forEach((share) => {
        const cell = tr.insertCell();
        cell.textContent = percent(share);
        cell.dataset.share = share;
        cell.style.backgroundColor = `rgba(43, 108, 176, ${Math.min(1, share).toFixed(3)})`;
        if (share > 0.5) cell.classList.add("dark");
      });
    }
    document.getElementById("cohorts").replaceChildren(table);
  }

  async function load() {
    const form = new FormData(document.getElementById("range"));
    const range = {}, churn = {churn_days: form.get("churn_days") || "180"};
    if (form.get("from")) range.from = form.get("from");
    if (form.get("to")) range.to = form.get("to");
    const accountingRange = {...range, period: "month"};
    if (!range.from) {           // the last twelve months by default
      const start = new Date();
      start.setUTCDate(1);
      start.setUTCMonth(start.getUTCMonth() - 11);
      accountingRange.from = start.toISOString().slice(0, 10);
    }
    status("Loading…");
    dashboard.ready = false;
    try {
      const [liabilityReport, accountingReport, tiersReport, customersReport, costReport] = await Promise.all([
        fetchReport("liability", {}), fetchReport("accounting", accountingRange), fetchReport("tiers", range),
        fetchReport("customers", {...(range.to ? {to: range.to} : {}), ...churn}), fetchReport("cost", range)]);
      Object.assign(dashboard.reports, {liability: liabilityReport, accounting: accountingReport, tiers: tiersReport,
                                        customers: customersReport, cost: costReport});
      liability(liabilityReport);
      accounting(accountingReport);
      tiers(tiersReport);
      byTier(customersReport);
      cost(costReport);
      cohorts(customersReport);
      status(`As of ${customersReport.as_of}.`);
      dashboard.ready = true;
    } catch (error) {
      status(`Could not load the reports: ${error.message}`);
    }
  }

  document.getElementById("range").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  load();
})();
