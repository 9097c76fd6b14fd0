// The search page: Pagefind in the browser, the state of the search kept in the URL
// (?q=…&topic=…&year=…&sort=date) so that a search can be shared and bookmarked.
// Loaded with `async`: Pagefind starts loading before the page has finished parsing, and
// what the URL's query needs is fetched before the page's elements exist.
"use strict";

(() => {
  const scriptData = (document.currentScript && document.currentScript.dataset) || {};
  const base = scriptData.base || "/";
  const state = readUrl();
  let pagefind = null;
  performance.mark("search:script");
  const pagefindReady = (async () => {
    pagefind = await import(base + "pagefind/pagefind.js");
    performance.mark("search:imported");
    // The worker costs ~150 ms to start; a query on a digest-sized index is faster without it.
    const options = { baseUrl: base, excerptLength: 30, noWorker: true };
    // With the index's tag, Pagefind asks for the entry file the page has preloaded.
    if (scriptData.cacheTag) options.metaCacheTag = scriptData.cacheTag;
    await pagefind.options(options);
    await pagefind.init();
    performance.mark("search:initialized");
  })();
  // The facet counts need every filter chunk; the URL's query needs its index chunks. Both
  // are asked for as soon as Pagefind can, side by side, without waiting for the page's
  // elements (the first search, made once they exist, finds its chunks in).
  const allFilters = pagefindReady.then(() => soon(() => pagefind.filters()));
  const queryLoaded = pagefindReady.then(() => state.q && soon(() => pagefind.preload(state.q)));
  allFilters.catch(() => {});  // a failure to load shows once, from the search below

  function readUrl() {
    const params = new URLSearchParams(window.location.search);
    return {
      q: params.get("q") || "",
      topic: params.getAll("topic"),
      year: params.getAll("year"),
      sort: params.get("sort") === "date" ? "date" : "",
    };
  }

  // Until its WebAssembly is in, each Pagefind call re-checks every 50 ms from when it was
  // made. Made from calls 10 ms apart, a call starts within ~10 ms of Pagefind being ready
  // instead of up to 50 ms after.
  function soon(call) {
    const calls = [0, 10, 20, 30, 40].map((delay) =>
      new Promise((resolve) => window.setTimeout(resolve, delay)).then(call));
    return Promise.race(calls);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();

  function start() {
  const root = document.getElementById("search");
  if (!root) return;
  const input = document.getElementById("search-input");
  const status = document.getElementById("search-status");
  const list = document.getElementById("search-results");
  const sortSelect = document.getElementById("search-sort");
  const facetBoxes = { topic: document.getElementById("facet-topic"), year: document.getElementById("facet-year") };
  const PAGE_SIZE = 10;
  const TYPING_DELAY_MS = 120;

  let totals = {};
  let lastCounts = null;
  let generation = 0;
  let typingTimer = 0;

  input.value = state.q;
  sortSelect.value = state.sort;

  function writeUrl() {
    const params = new URLSearchParams();
    if (state.q) params.set("q", state.q);
    for (const name of ["topic", "year"]) for (const value of state[name]) params.append(name, value);
    if (state.sort) params.set("sort", state.sort);
    const query = params.toString();
    window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : ""));
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  // Pagefind's excerpt is escaped text with <mark> around the matched words. Only <mark>
  // is let through, so nothing else in an indexed page can become markup here.
  function safeExcerpt(excerpt) {
    const div = document.createElement("div");
    div.innerHTML = excerpt;
    const out = [];
    for (const node of div.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) out.push(escapeHtml(node.textContent));
      else if (node.nodeName === "MARK") out.push("<mark>" + escapeHtml(node.textContent) + "</mark>");
      else out.push(escapeHtml(node.textContent || ""));
    }
    return out.join("");
  }

  function activeFilters() {
    const filters = {};
    if (state.topic.length) filters.topic = { any: state.topic };
    if (state.year.length) filters.year = { any: state.year };
    return filters;
  }

  async function run() {
    const mine = ++generation;
    const filters = activeFilters();
    const hasFilters = Object.keys(filters).length > 0;
    if (!state.q && !hasFilters) {
      list.replaceChildren();
      status.textContent = "Type a few words: results show as you type.";
      renderFacets(totals);
      return;
    }
    const options = { filters };
    if (state.sort === "date") options.sort = { date: "desc" };
    // A reader may type before Pagefind is in (a slow connection): the search waits for
    // it. If it never loads, the page already says so.
    try {
      await pagefindReady;
    } catch {
      return;
    }
    const search = await pagefind.search(state.q || null, options);
    performance.mark("search:searched");
    if (mine !== generation || !search) return;
    lastCounts = search.filters || null;
    renderFacets(lastCounts || totals);
    const count = search.results.length;
    const what = state.q ? ` for “${state.q}”` : "";
    status.textContent = `${count} ${count === 1 ? "paper" : "papers"}${what}`;
    await renderResults(search.results, 0, mine);
  }

  // For the browser tests: when the first results of this page view were on screen.
  function markFirstResults() {
    if (!document.documentElement.dataset.firstResultsMs) {
      document.documentElement.dataset.firstResultsMs = String(Math.round(performance.now()));
    }
  }

  async function renderResults(results, start, mine) {
    // Every fragment is requested at once, and each result is shown as soon as it and
    // those above it are in: the best match first, and nothing moves once shown.
    const pending = results.slice(start, start + PAGE_SIZE).map((r) => r.data());
    if (start === 0 && !pending.length) {
      list.replaceChildren();
      markFirstResults();
    }
    for (const [index, fragment] of pending.entries()) {
      const item = resultItem(await fragment);
      if (mine !== generation) return;
      if (start === 0 && index === 0) {
        list.replaceChildren(item);  // the last search's results stay until now
        markFirstResults();
      } else {
        list.append(item);
      }
    }
    const more = start + PAGE_SIZE;
    if (more < results.length) {
      const li = document.createElement("li");
      li.className = "more";
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `Show ${Math.min(PAGE_SIZE, results.length - more)} more`;
      button.addEventListener("click", () => { li.remove(); renderResults(results, more, generation); });
      li.append(button);
      list.append(li);
    }
  }

  function resultItem(data) {
    const li = document.createElement("li");
    li.className = "result";
    const title = document.createElement("h2");
    const link = document.createElement("a");
    link.href = data.url;
    link.textContent = data.meta.title || data.url;
    title.append(link);
    const meta = document.createElement("p");
    meta.className = "card-meta";
    const topics = (data.filters && data.filters.topic) || [];
    meta.textContent = [data.meta.date, topics.join(", ")].filter(Boolean).join(" · ");
    const excerpt = document.createElement("p");
    excerpt.className = "excerpt";
    excerpt.innerHTML = safeExcerpt(data.excerpt || "");
    li.append(title, meta, excerpt);
    return li;
  }

  function renderFacets(counts) {
    for (const [name, box] of Object.entries(facetBoxes)) {
      const values = Object.keys(totals[name] || {});
      values.sort(name === "year" ? (a, b) => b.localeCompare(a) : (a, b) => a.localeCompare(b));
      const legend = box.querySelector("legend");
      const options = values.map((value) => facetOption(name, value, (counts[name] || {})[value] || 0));
      box.replaceChildren(legend, ...options);
    }
  }

  function facetOption(name, value, count) {
    const label = document.createElement("label");
    label.className = "facet-option";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = name;
    box.value = value;
    box.checked = state[name].includes(value);
    box.addEventListener("change", () => {
      state[name] = box.checked ? [...state[name], value] : state[name].filter((v) => v !== value);
      writeUrl();
      run();
    });
    const text = document.createElement("span");
    text.textContent = value;
    const number = document.createElement("span");
    number.className = "count";
    number.textContent = String(count);
    label.append(box, text, number);
    return label;
  }

  input.addEventListener("input", () => {
    state.q = input.value.trim();
    writeUrl();
    window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(run, TYPING_DELAY_MS);
  });
  input.form.addEventListener("submit", (event) => {
    event.preventDefault();
    window.clearTimeout(typingTimer);
    state.q = input.value.trim();
    writeUrl();
    run();
  });
  sortSelect.addEventListener("change", () => {
    state.sort = sortSelect.value;
    writeUrl();
    run();
  });

  // A query that comes from the URL runs at once: no typing delay to wait for.
  Promise.all([pagefindReady, queryLoaded])
    .then(async () => {
      const first = run();  // facets fill in when the filter counts arrive
      totals = await allFilters;
      await first;
      renderFacets(lastCounts || totals);
    })
    .catch((error) => {
      status.textContent = "Search could not load: " + error.message;
    });
  }
})();
