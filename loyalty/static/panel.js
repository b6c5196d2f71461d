/* <loyalty-panel token="..." [api="https://loyalty.example"] [limit="20"]>: a customer's points, tier,
   discount, support and history, read with their customer token from
   GET /v1/customers/{id}/balance, /outlook and /transactions. No framework, no build step.
   The token's payload is decoded only to read `sub` (the customer id of the URL); the
   service alone decides what the token may read. Texts in English, Russian and Danish,
   by the nearest `lang`; numbers and dates in that locale (the browser's when none). */
(() => {
  "use strict";
  const script = document.currentScript;
  const DEFAULT_API = script && script.src ? new URL(script.src).origin : location.origin;
  const PAGE = 20;

  const TEXTS = {
    en: {
      title: "Your loyalty points", loading: "Loading…", available: "Available", pending: "Pending",
      pendingNote: "Become available when the return window of the purchase is over.",
      pendingOn: "{points} on {date}", until: "Spend it by {date}: after that, older spend leaves the 12 months that count.",
      keep: "The tier review on {date} would move you to {tier}: spend {amount} more by then to keep your tier.",
      expiring: "Expiring next", expiringOn: "{points} on {date}", noExpiry: "Nothing expiring",
      tier: "Tier", toNext: "Spend {amount} more to reach {tier}.", progress: "Progress to {tier}",
      top: "You are in the highest tier.", discount: "Standing discount", priority: "Priority support",
      yes: "Yes", no: "No", target: "Answer within {hours}", history: "History", empty: "No points yet.",
      more: "Show more", retry: "Try again", status: "pending balance", rules: "Rules",
      expired: "This link has expired or is not valid. Ask the shop for a new one.",
      busy: "Too many requests. Try again in a minute.",
      offline: "The loyalty service cannot be reached right now. Try again later.",
      points: {one: "{n} point", other: "{n} points"},
      tiers: {standard: "Standard", gold: "Gold", platinum: "Platinum"},
      kinds: {earn: "Points earned", welcome: "Welcome bonus", correction: "Correction", clawback: "Returned purchase",
              release: "Points now available", unpend: "No longer pending", redemption: "Points redeemed", expiry: "Points expired",
              adjustment: "From customer service", birthday: "Birthday gift"}
    },
    ru: {
      title: "Ваши баллы лояльности", loading: "Загрузка…", available: "Доступно", pending: "Ожидают",
      pendingNote: "Станут доступны, когда закончится срок возврата покупки.",
      pendingOn: "{points} — {date}", until: "Успейте до {date}: потом старые покупки выйдут из учитываемых 12 месяцев.",
      keep: "Пересмотр уровня {date} переведёт вас на уровень «{tier}»: купите ещё на {amount} до этой даты, чтобы сохранить уровень.",
      expiring: "Скоро сгорят", expiringOn: "{points} — {date}", noExpiry: "Ничего не сгорает",
      tier: "Уровень", toNext: "Ещё {amount} покупок до уровня «{tier}».", progress: "Путь к уровню «{tier}»",
      top: "У вас высший уровень.", discount: "Постоянная скидка", priority: "Приоритетная поддержка",
      yes: "Да", no: "Нет", target: "Ответ в течение {hours}", history: "История", empty: "Баллов пока нет.",
      more: "Показать ещё", retry: "Повторить", status: "ожидающий баланс", rules: "Правила",
      expired: "Срок действия ссылки истёк или она недействительна. Попросите магазин прислать новую.",
      busy: "Слишком много запросов. Попробуйте через минуту.",
      offline: "Сервис программы лояльности сейчас недоступен. Попробуйте позже.",
      points: {one: "{n} балл", few: "{n} балла", many: "{n} баллов", other: "{n} балла"},
      tiers: {standard: "Стандарт", gold: "Золото", platinum: "Платина"},
      kinds: {earn: "Начислены баллы", welcome: "Приветственный бонус", correction: "Корректировка",
              clawback: "Возврат покупки", release: "Баллы стали доступны", unpend: "Больше не ожидают", redemption: "Баллы списаны",
              expiry: "Баллы сгорели", adjustment: "От службы поддержки", birthday: "Подарок на день рождения"}
    },
    da: {
      title: "Dine loyalitetspoint", loading: "Indlæser…", available: "Tilgængelige", pending: "Afventer",
      pendingNote: "Bliver tilgængelige, når returfristen for købet er udløbet.",
      pendingOn: "{points} den {date}", until: "Køb inden {date}: derefter tæller ældre køb ikke længere med i de 12 måneder.",
      keep: "Niveauvurderingen den {date} vil flytte dig til {tier}: køb for {amount} mere inden da for at beholde dit niveau.",
      expiring: "Udløber snart", expiringOn: "{points} den {date}", noExpiry: "Intet udløber",
      tier: "Niveau", toNext: "Køb for {amount} mere for at nå {tier}.", progress: "Fremskridt mod {tier}",
      top: "Du er på det højeste niveau.", discount: "Fast rabat", priority: "Prioriteret support",
      yes: "Ja", no: "Nej", target: "Svar inden for {hours}", history: "Historik", empty: "Ingen point endnu.",
      more: "Vis flere", retry: "Prøv igen", status: "afventende saldo", rules: "Regler",
      expired: "Linket er udløbet eller ugyldigt. Bed butikken om et nyt.",
      busy: "For mange forespørgsler. Prøv igen om et minut.",
      offline: "Loyalitetstjenesten kan ikke nås lige nu. Prøv igen senere.",
      points: {one: "{n} point", other: "{n} point"},
      tiers: {standard: "Standard", gold: "Guld", platinum: "Platin"},
      kinds: {earn: "Optjente point", welcome: "Velkomstbonus", correction: "Rettelse", clawback: "Returneret køb",
              release: "Point nu tilgængelige", unpend: "Afventer ikke længere", redemption: "Indløste point", expiry: "Udløbne point",
              adjustment: "Fra kundeservice", birthday: "Fødselsdagsgave"}
    }
  };

  const CSS = `
:host{display:block;max-width:40rem;color:#1a202c;background:#fff;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
:host([hidden]),[hidden]{display:none}
*{box-sizing:border-box}
section{border:1px solid #cbd5e0;border-radius:.5rem;padding:1rem;background:#fff;overflow-wrap:anywhere}
h2{font-size:1.25rem;margin:0 0 .75rem}
h3{font-size:1.05rem;margin:1.25rem 0 .5rem}
dl{display:flex;flex-wrap:wrap;gap:.75rem;margin:0}
dl>div{flex:1 1 9rem;min-width:0;background:#f7fafc;border-radius:.375rem;padding:.5rem .75rem}
dt{font-size:.875rem;color:#4a5568}
dd{margin:0;font-size:1.25rem;font-weight:600}
p{margin:.25rem 0}
.note,.small{font-size:.875rem;color:#4a5568}
.tier{margin-bottom:1rem}
progress{display:block;width:100%;height:1rem;margin:.25rem 0;accent-color:#2b6cb0}
ol{list-style:none;margin:0;padding:0}
li{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.25rem .75rem;padding:.5rem 0;border-top:1px solid #e2e8f0}
li>div{flex:1 1 12rem;min-width:0}
.pts{font-weight:600;white-space:nowrap}
.neg{color:#9b2c2c}
.tag{font-size:.75rem;border:1px solid #975a16;color:#744210;border-radius:.25rem;padding:0 .25rem;margin-left:.25rem}
button{font:inherit;color:#fff;background:#2b6cb0;border:0;border-radius:.375rem;padding:.5rem 1rem;margin-top:.75rem;cursor:pointer}
button:focus-visible{outline:3px solid #1a202c;outline-offset:2px}
.error{color:#742a2a;background:#fff5f5;border:1px solid #feb2b2;border-radius:.375rem;padding:.75rem}`;

  let sheet = null;
  function styles(root) {
    if ("adoptedStyleSheets" in Document.prototype && "replaceSync" in CSSStyleSheet.prototype) {
      sheet = sheet || new CSSStyleSheet();
      if (!sheet.cssRules.length) sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];       // not governed by CSP, unlike a <style> element
    } else {
      root.append(el("style", {}, CSS));
    }
  }

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) node.append(child);
    }
    return node;
  }

  const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, key) => values[key]);

  /** The customer id the token names: the URL needs it. Nothing else is read from it. */
  function subject(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const bytes = Uint8Array.from(atob(part + "===".slice((part.length + 3) % 4)), (c) => c.charCodeAt(0));
      const sub = JSON.parse(new TextDecoder().decode(bytes)).sub;
      return typeof sub === "string" && sub ? sub : null;
    } catch (error) {
      return null;
    }
  }

  class Failure extends Error {
    constructor(kind) { super(kind); this.kind = kind; }
  }

  class LoyaltyPanel extends HTMLElement {
    static get observedAttributes() { return ["token", "api", "lang"]; }

    constructor() {
      super();
      this.root = this.attachShadow({mode: "open"});
      styles(this.root);
      this.generation = 0;
    }

    connectedCallback() { this.schedule(); }

    attributeChangedCallback() { this.schedule(); }

    /** One load for a burst of changes (an upgrade reports every attribute, then the connection). */
    schedule() {
      if (this.scheduled) return;
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        if (this.isConnected) this.load();
      });
    }

    /** The nearest `lang`: the element's, an ancestor's, the document's. */
    locale() {
      const holder = this.closest("[lang]");
      const tag = (holder && holder.getAttribute("lang")) || document.documentElement.lang || "";
      try {
        return tag ? Intl.getCanonicalLocales(tag)[0] : undefined;
      } catch (error) {
        return undefined;
      }
    }

    setup() {
      const locale = this.locale();
      const language = (locale || "").split("-")[0].toLowerCase();
      this.t = TEXTS[language] || TEXTS.en;
      this.loc = locale;
      this.plural = new Intl.PluralRules(this.loc);
      this.integer = new Intl.NumberFormat(this.loc, {maximumFractionDigits: 0});
      this.day = new Intl.DateTimeFormat(this.loc, {dateStyle: "medium", timeZone: "UTC"});
      this.moment = new Intl.DateTimeFormat(this.loc, {dateStyle: "medium"});
    }

    points(n) {
      const forms = this.t.points;
      return fill(forms[this.plural.select(n)] || forms.other, {n: this.integer.format(n)});
    }

    money(value) {
      const format = new Intl.NumberFormat(this.loc, {style: "currency", currency: value.currency});
      return format.format(value.amount / 10 ** format.resolvedOptions().maximumFractionDigits);
    }

    date(isoDate) {          // "2027-03-01": a calendar date, shown as that date everywhere
      const [y, m, d] = isoDate.split("-").map(Number);
      return this.day.format(new Date(Date.UTC(y, m - 1, d)));
    }

    tierName(name) {
      return this.t.tiers[name] || name.charAt(0).toUpperCase() + name.slice(1);
    }

    show(state, ...children) {
      this.dataset.state = state;
      this.setAttribute("aria-busy", state === "loading" ? "true" : "false");
      this.root.replaceChildren(el("section", {"aria-labelledby": "title"},
        el("h2", {id: "title"}, this.t.title), ...children));
    }

    async read(path) {
      let response;
      try {
        response = await fetch(this.base + path, {
          headers: {Authorization: "Bearer " + this.token, Accept: "application/json"},
          credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer"});
      } catch (error) {
        throw new Failure("offline");        // unreachable, or an origin the service does not list
      }
      if (response.status === 401 || response.status === 403 || response.status === 404) throw new Failure("expired");
      if (response.status === 429) throw new Failure("busy");
      if (!response.ok) throw new Failure("offline");
      return response.json();
    }

    async load() {
      const generation = ++this.generation;
      this.setup();
      this.token = (this.getAttribute("token") || "").trim();
      this.base = (this.getAttribute("api") || DEFAULT_API).replace(/\/+$/, "");
      const limit = Number(this.getAttribute("limit"));     // history entries per page
      this.limit = Number.isInteger(limit) && limit >= 1 && limit <= 100 ? limit : PAGE;
      const customer = subject(this.token);
      this.show("loading", el("p", {role: "status"}, this.t.loading));
      try {
        if (!customer) throw new Failure("expired");
        this.path = "/v1/customers/" + encodeURIComponent(customer);
        const [balance, outlook, history] = await Promise.all([
          this.read(this.path + "/balance"), this.read(this.path + "/outlook"),
          this.read(this.path + "/transactions?limit=" + this.limit)]);
        if (generation !== this.generation) return;
        this.render({...balance, ...outlook, pending_releases: outlook.pending}, history);
      } catch (error) {
        if (generation !== this.generation) return;
        this.fail(error instanceof Failure ? error.kind : "offline");
        if (!(error instanceof Failure)) throw error;    // a bug: the console says where
      }
    }

    fail(kind) {
      const retry = kind === "expired" ? null : el("button", {type: "button"}, this.t.retry);
      if (retry) retry.addEventListener("click", () => this.schedule());
      this.show("error", el("p", {class: "error", role: "alert", "data-error": kind}, this.t[kind]), retry);
    }

    field(name, value, text) {
      return el("dd", {"data-field": name, "data-value": value}, text);
    }

    render(balance, history) {
      const t = this.t, points = balance.points;
      const soonest = points.expiring[0];
      const summary = el("dl", {},
        el("div", {}, el("dt", {}, t.available), this.field("available", points.available, this.points(points.available))),
        el("div", {}, el("dt", {}, t.pending), this.field("pending", points.pending, this.points(points.pending)),
           points.pending ? el("p", {class: "note"}, t.pendingNote) : null,
           ...(balance.pending_releases || []).map((release) => el("p", {class: "note", "data-field": "pending_on",
             "data-value": release.points, "data-on": release.on},
             fill(t.pendingOn, {points: this.points(release.points), date: this.date(release.on)})))),
        el("div", {}, el("dt", {}, t.expiring), soonest
          ? el("dd", {"data-field": "expiring", "data-value": soonest.points, "data-on": soonest.on},
               fill(t.expiringOn, {points: this.points(soonest.points), date: this.date(soonest.on)}))
          : this.field("expiring", 0, t.noExpiry)));

      this.show("ready", summary, this.tier(balance), this.perks(balance),
                el("h3", {id: "history"}, t.history), this.history(history));
    }

    tier(balance) {
      const t = this.t, tier = balance.tier, next = tier.next;
      const block = el("div", {class: "tier"},
        el("h3", {}, t.tier, ": ", el("span", {"data-field": "tier", "data-value": tier.name}, this.tierName(tier.name))));
      if (!next) {
        block.append(el("p", {}, t.top));
        return this.keep(block, balance);
      }
      const needed = next.spend_needed, spent = Math.max(0, balance.qualifying_spend.amount);
      const goal = spent + needed.amount;
      const label = fill(t.progress, {tier: this.tierName(next.name)});
      block.append(...[
        el("progress", {id: "progress", max: goal || 1, value: needed.amount > 0 ? spent : goal || 1,
                        "aria-label": label, "aria-describedby": "needed",
                        "aria-valuetext": `${this.money({amount: spent, currency: needed.currency})} / ` +
                                          this.money({amount: goal, currency: needed.currency})}),
        el("p", {id: "needed", "data-field": "spend_needed", "data-value": needed.amount, "data-next": next.name},
           fill(t.toNext, {amount: this.money(needed), tier: this.tierName(next.name)})),
        balance.next_tier_spend_counts_until && needed.amount > 0
          ? el("p", {class: "note", "data-field": "spend_until", "data-on": balance.next_tier_spend_counts_until},
               fill(t.until, {date: this.date(balance.next_tier_spend_counts_until)})) : null].filter(Boolean));
      return this.keep(block, balance);
    }

    keep(block, balance) {          // a tier review of the coming days that would lower the tier
      const fall = balance.will_downgrade;
      if (fall) block.append(el("p", {class: "note", "data-field": "will_downgrade", "data-on": fall.on,
                                      "data-to": fall.to, "data-value": fall.spend_needed.amount},
        fill(this.t.keep, {date: this.date(fall.on), tier: this.tierName(fall.to), amount: this.money(fall.spend_needed)})));
      return block;
    }

    perks(balance) {
      const t = this.t;
      const percent = new Intl.NumberFormat(this.loc, {style: "percent", maximumFractionDigits: 2});
      const hours = balance.response_target_hours;   // shown when the balance carries it
      return el("dl", {},
        el("div", {}, el("dt", {}, t.discount),
           this.field("discount", balance.discount_percent, percent.format(balance.discount_percent / 100))),
        el("div", {}, el("dt", {}, t.priority),
           this.field("priority", String(balance.priority_support), balance.priority_support ? t.yes : t.no),
           Number.isFinite(hours) ? el("p", {class: "note", "data-field": "response_target", "data-value": hours},
             fill(t.target, {hours: new Intl.NumberFormat(this.loc, {style: "unit", unit: "hour", unitDisplay: "long"})
               .format(hours)})) : null));
    }

    history(page) {
      if (!page.entries.length) return el("p", {}, this.t.empty);
      const list = el("ol", {"aria-labelledby": "history"});
      const more = el("button", {type: "button", "aria-controls": "entries"}, this.t.more);
      const problem = el("p", {class: "error", role: "alert", hidden: true});
      let cursor = null, busy = false;
      const add = (next) => {
        this.entries(list, next.entries);
        cursor = next.next_cursor;
        more.hidden = !cursor;
      };
      more.addEventListener("click", async () => {      // the same button throughout: focus stays on it
        if (busy || !cursor) return;
        busy = true;
        more.setAttribute("aria-busy", "true");
        try {
          add(await this.read(`${this.path}/transactions?limit=${this.limit}&cursor=${encodeURIComponent(cursor)}`));
          problem.hidden = true;
        } catch (error) {
          if (!(error instanceof Failure)) throw error;
          problem.textContent = this.t[error.kind];
          problem.hidden = false;
        } finally {
          busy = false;
          more.removeAttribute("aria-busy");
        }
      });
      list.id = "entries";
      add(page);
      return el("div", {}, list, problem, more);
    }

    entries(list, entries) {
      const t = this.t;
      for (const entry of entries) {
        const sign = entry.points > 0 ? "+" : entry.points < 0 ? "−" : "";
        // A release is two entries: out of the pending balance, into the available one.
        const kind = entry.kind === "release" && entry.status === "pending" ? "unpend" : entry.kind;
        list.append(el("li", {"data-id": entry.id, "data-kind": entry.kind},
          el("div", {},
            el("strong", {}, t.kinds[kind] || entry.kind),
            entry.status === "pending" ? el("span", {class: "tag"}, t.status) : null,
            el("p", {class: "reason"}, entry.reason),
            el("p", {class: "small"}, el("time", {datetime: entry.at}, this.moment.format(new Date(entry.at))),
               entry.rules && entry.rules.length ? ` · ${t.rules}: ${entry.rules.join(", ")}` : "")),
          el("span", {class: entry.points < 0 ? "pts neg" : "pts"}, sign + this.points(Math.abs(entry.points)))));
      }
    }
  }

  if (!customElements.get("loyalty-panel")) customElements.define("loyalty-panel", LoyaltyPanel);
})();
