// The operators' dashboard: one HTML page, one vanilla script and one stylesheet, embedded as strings so they ship
// inside dist/ with the compiled code (no build step, nothing fetched from the internet). The script polls
// api/overview and renders with createElement/textContent only: registry data never reaches innerHTML.
// The script is written without template literals (it lives inside String.raw); test/dashboard checks it parses.

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>zone-registry</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="assets/dashboard.css">
<script src="assets/dashboard.js" defer></script>
</head>
<body>
<header class="top">
  <div class="brand"><span class="logo" aria-hidden="true"></span>zone-registry</div>
  <div id="server-line" class="server-line">connecting…</div>
  <input id="filter" type="search" placeholder="Filter: app, instance, host, IP, status, zone" autocomplete="off" spellcheck="false" aria-label="Filter">
  <div id="updated" class="updated" aria-live="polite">—</div>
</header>
<div id="banner" class="banner" role="alert" hidden></div>
<main>
  <section id="self-preservation" class="card"><h2>Self-preservation</h2><p class="muted">Loading…</p></section>
  <section id="peers" class="card"><h2>Peers</h2><p class="muted">Loading…</p></section>
  <section id="applications" class="card wide"><h2>Applications</h2><p class="muted">Loading…</p></section>
  <section id="recent" class="card wide"><h2>Recent changes</h2><p class="muted">Loading…</p></section>
  <section id="server" class="card wide"><h2>This server</h2><p class="muted">Loading…</p></section>
</main>
<noscript><p class="card">This dashboard needs JavaScript. The same data is at <a href="api/overview">api/overview</a>.</p></noscript>
</body>
</html>
`;

export const DASHBOARD_CSS = `:root {
  --bg: #f4f6f9; --card: #ffffff; --fg: #1c2430; --muted: #5f6b7a; --line: #e1e6ed; --head: #f8fafc;
  --accent: #2856c9; --up: #1d7a3e; --up-bg: #e2f4e8; --down: #b42318; --down-bg: #fde8e6;
  --oos: #a15c00; --oos-bg: #fff1d6; --starting: #1f5fa8; --starting-bg: #e3eefb; --unknown: #5f6b7a; --unknown-bg: #eceff3;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #12161c; --card: #1a2029; --fg: #e4e8ee; --muted: #98a3b3; --line: #2b3440; --head: #202834;
    --accent: #7aa2ff; --up: #6fd08f; --up-bg: #173524; --down: #ff8a80; --down-bg: #3d1c1a;
    --oos: #ffc56b; --oos-bg: #3a2c12; --starting: #8cbcff; --starting-bg: #17304f; --unknown: #a9b4c2; --unknown-bg: #28303b; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.top { position: sticky; top: 0; z-index: 2; display: flex; flex-wrap: wrap; gap: 8px 18px; align-items: center; padding: 10px 20px;
  background: var(--card); border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; font-size: 16px; display: flex; align-items: center; gap: 8px; }
.logo { width: 14px; height: 14px; border-radius: 50%; border: 3px solid var(--accent); display: inline-block; }
.server-line { color: var(--muted); flex: 1 1 auto; display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: center; }
.server-line b { color: var(--fg); font-weight: 600; }
#filter { flex: 0 1 340px; min-width: 200px; padding: 6px 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); font: inherit; }
.updated { color: var(--muted); font-size: 12px; min-width: 150px; text-align: right; }
.updated.stale { color: var(--down); font-weight: 600; }
.banner { margin: 12px 20px 0; padding: 10px 14px; border-radius: 6px; background: var(--down-bg); color: var(--down); font-weight: 600; }
main { display: grid; grid-template-columns: minmax(340px, 1fr) minmax(0, 2.2fr); gap: 16px; padding: 16px 20px 28px; }
@media (max-width: 1100px) { main { grid-template-columns: minmax(0, 1fr); } }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; min-width: 0; }
.card.wide { grid-column: 1 / -1; }
h2 { margin: 0 0 10px; font-size: 15px; display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
h3 { margin: 14px 0 6px; font-size: 13px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.muted { color: var(--muted); }
.small { font-size: 12px; }
.mono { font-family: var(--mono); font-size: 12.5px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; white-space: nowrap; background: var(--unknown-bg); color: var(--unknown); }
.st-up, .ok { background: var(--up-bg); color: var(--up); }
.st-down, .bad { background: var(--down-bg); color: var(--down); }
.st-oos, .warn { background: var(--oos-bg); color: var(--oos); }
.st-starting, .info { background: var(--starting-bg); color: var(--starting); }
.st-unknown, .idle { background: var(--unknown-bg); color: var(--unknown); }
.reason { margin: 6px 0 12px; }
.numbers { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; }
.number { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.number .label { color: var(--muted); font-size: 12px; }
.number .value { font-size: 20px; font-weight: 650; font-variant-numeric: tabular-nums; }
.number .hint { color: var(--muted); font-size: 11.5px; font-family: var(--mono); }
.meter { position: relative; height: 10px; margin-top: 12px; border-radius: 5px; background: var(--unknown-bg); overflow: visible; }
.meter .fill { position: absolute; left: 0; top: 0; bottom: 0; border-radius: 5px; background: var(--up); }
.meter .fill.low { background: var(--oos); }
.meter .mark { position: absolute; top: -4px; bottom: -4px; width: 2px; background: var(--fg); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--head); font-size: 12px; color: var(--muted); font-weight: 600; vertical-align: bottom; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
tr.failing td { background: color-mix(in srgb, var(--down-bg) 55%, transparent); }
td.expired { color: var(--down); font-weight: 600; }
details.app { border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; }
details.app > summary { cursor: pointer; padding: 8px 10px; display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px; list-style: none; }
details.app > summary::-webkit-details-marker { display: none; }
details.app > summary::before { content: "▸"; color: var(--muted); width: 10px; }
details.app[open] > summary::before { content: "▾"; }
details.app[open] > summary { border-bottom: 1px solid var(--line); }
.app-name { font-weight: 700; font-family: var(--mono); font-size: 13.5px; }
.chips { display: inline-flex; flex-wrap: wrap; gap: 4px; }
.chip { display: inline-block; padding: 0 6px; border-radius: 4px; background: var(--head); border: 1px solid var(--line); font-family: var(--mono); font-size: 11.5px; white-space: nowrap; }
.chip .k { color: var(--muted); }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 16px; }
.settings { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 12px 20px; }
.settings dl { margin: 0; display: grid; grid-template-columns: auto 1fr; gap: 2px 12px; }
.settings dt { color: var(--muted); font-family: var(--mono); font-size: 12px; }
.settings dd { margin: 0; font-family: var(--mono); font-size: 12px; text-align: right; }
.empty { color: var(--muted); font-style: italic; padding: 6px 0; }
`;

export const DASHBOARD_JS = String.raw`(function () {
  'use strict';

  var STATUSES = ['UP', 'DOWN', 'OUT_OF_SERVICE', 'STARTING', 'UNKNOWN'];
  var STATUS_CLASS = { UP: 'st-up', DOWN: 'st-down', OUT_OF_SERVICE: 'st-oos', STARTING: 'st-starting', UNKNOWN: 'st-unknown' };
  var PEER_CLASS = { healthy: 'ok', failing: 'bad', idle: 'idle' };
  var params = new URLSearchParams(window.location.search);
  var refreshMs = Math.min(60000, Math.max(500, Number(params.get('refresh')) || 3000));
  var state = { q: params.get('q') || '', open: Object.create(null), timer: 0, seq: 0, lastOk: 0, data: null };

  // ---- DOM helpers: text only ever goes through textContent / createTextNode.
  function el(tag, props, children) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        var v = props[k];
        if (v === undefined || v === null || v === false) return;
        if (k === 'class') node.className = v;
        else if (k === 'text') node.textContent = String(v);
        else if (k === 'open') node.open = true;
        else if (k === 'css') Object.keys(v).forEach(function (p) { node.style[p] = v[p]; });
        else if (k.slice(0, 2) === 'on') node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, String(v));
      });
    }
    append(node, children);
    return node;
  }
  function append(node, children) {
    if (children === undefined || children === null) return;
    if (!Array.isArray(children)) children = [children];
    children.forEach(function (c) {
      if (c === undefined || c === null || c === false) return;
      node.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    });
  }
  function byId(id) { return document.getElementById(id); }
  function fill(id, children) {
    var node = byId(id);
    node.replaceChildren();
    append(node, children);
  }

  // ---- Formatting.
  function duration(ms) {
    var neg = ms < 0;
    ms = Math.abs(ms);
    var out;
    if (ms < 1000) out = Math.round(ms) + ' ms';
    else if (ms < 60000) out = Math.round(ms / 1000) + ' s';
    else if (ms < 3600000) out = Math.floor(ms / 60000) + ' min ' + Math.floor((ms % 60000) / 1000) + ' s';
    else if (ms < 86400000) out = Math.floor(ms / 3600000) + ' h ' + Math.floor((ms % 3600000) / 60000) + ' min';
    else out = Math.floor(ms / 86400000) + ' d ' + Math.floor((ms % 86400000) / 3600000) + ' h';
    return neg ? '-' + out : out;
  }
  function ago(ts, now) { return ts > 0 ? duration(now - ts) + ' ago' : 'never'; }
  function iso(ts) { return ts > 0 ? new Date(ts).toISOString() : ''; }
  function clock(ts) {
    if (!(ts > 0)) return '—';
    var d = new Date(ts);
    function two(n) { return (n < 10 ? '0' : '') + n; }
    return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
  }
  function statusBadge(status) {
    return el('span', { class: 'badge ' + (STATUS_CLASS[status] || 'st-unknown'), text: status });
  }
  function number(label, value, hint) {
    return el('div', { class: 'number' }, [el('div', { class: 'label', text: label }), el('div', { class: 'value', text: value }), hint ? el('div', { class: 'hint', text: hint }) : null]);
  }
  function table(headers, rows, emptyText) {
    if (rows.length === 0) return el('div', { class: 'empty', text: emptyText });
    var head = el('tr', null, headers.map(function (h) {
      var num = h.charAt(0) === '#';
      return el('th', { class: num ? 'num' : null, text: num ? h.slice(1) : h });
    }));
    return el('div', { class: 'table-wrap' }, el('table', null, [el('thead', null, head), el('tbody', null, rows)]));
  }

  // ---- Sections.
  function renderHeader(d) {
    var s = d.server;
    document.title = 'zone-registry · ' + s.zone;
    fill('server-line', [
      el('span', null, ['zone ', el('b', { text: s.zone })]),
      el('span', null, ['region ', el('b', { text: s.region })]),
      el('span', null, ['v', s.version]),
      el('span', { title: 'started ' + iso(s.startedAt) }, ['up ', duration(s.uptimeMs)]),
      el('span', { class: 'badge ' + (s.ready ? 'ok' : 'warn'), text: s.ready ? 'READY' : 'SYNCING' }),
      s.registryReadsAllowed ? null : el('span', { class: 'badge bad', text: 'READS REFUSED (403)' }),
      el('span', { class: 'badge ' + (s.leaseExpirationEnabled ? 'ok' : 'warn'), text: s.leaseExpirationEnabled ? 'lease expiry on' : 'lease expiry suspended' })
    ]);
  }

  function renderSelfPreservation(d) {
    var sp = d.selfPreservation;
    var title = ['Self-preservation'];
    if (!sp) {
      fill('self-preservation', [el('h2', null, title), el('p', { class: 'muted', text: 'Not configured on this server.' })]);
      return;
    }
    var label = !sp.enabled ? 'OFF (disabled)' : sp.active ? 'ON: expiry suspended' : 'OFF: leases expire normally';
    var cls = !sp.enabled ? 'idle' : sp.active ? 'warn' : 'ok';
    title.push(el('span', { class: 'badge ' + cls, text: label, 'data-test': 'sp-state' }));
    var pct = d.server.settings && d.server.settings.selfPreservation ? d.server.settings.selfPreservation.renewalPercentThreshold : null;
    var minInstances = d.server.settings && d.server.settings.selfPreservation ? d.server.settings.selfPreservation.selfPreservationMinInstances : null;
    var thresholdHint = pct !== null ? 'floor(' + sp.expectedRenewalsPerMin + ' × ' + pct + ')' : null;
    var max = Math.max(sp.expectedRenewalsPerMin, sp.renewalsLastMin, 1);
    var fillPct = Math.min(100, (sp.renewalsLastMin / max) * 100);
    var markPct = Math.min(100, (sp.threshold / max) * 100);
    fill('self-preservation', [
      el('h2', null, title),
      el('p', { class: 'reason', text: sp.reason.charAt(0).toUpperCase() + sp.reason.slice(1) + '.' }),
      el('div', { class: 'numbers' }, [
        number('Expected renewals / min', sp.expectedRenewalsPerMin, 'Σ 60 / renewal interval'),
        number('Threshold', sp.threshold, thresholdHint),
        number('Renewals last minute', sp.renewalsLastMin, sp.renewalsLastMin <= sp.threshold ? 'at or below threshold' : 'above threshold'),
        number('Instances', sp.instances, minInstances !== null ? 'engages from ' + minInstances : null)
      ]),
      el('div', { class: 'meter', title: 'renewals last minute vs. threshold (black mark)' }, [
        el('div', { class: 'fill' + (sp.active ? ' low' : ''), css: { width: fillPct.toFixed(1) + '%' } }),
        el('div', { class: 'mark', css: { left: markPct.toFixed(1) + '%' } })
      ])
    ]);
  }

  function renderPeers(d) {
    var now = d.now;
    var failing = d.peers.filter(function (p) { return p.health === 'failing'; }).length;
    var title = ['Peers'];
    if (d.peers.length > 0) title.push(el('span', { class: 'badge ' + (failing ? 'bad' : 'ok'), text: failing ? failing + ' of ' + d.peers.length + ' failing' : d.peers.length + ' healthy' }));
    var rows = d.peers.map(function (p) {
      return el('tr', { class: p.health === 'failing' ? 'failing' : null, 'data-peer': p.url }, [
        el('td', { class: 'mono', text: p.url }),
        el('td', null, el('span', { class: 'badge ' + (PEER_CLASS[p.health] || 'idle'), title: p.summary, text: p.health })),
        el('td', { title: iso(p.lastSuccessAt), text: ago(p.lastSuccessAt, now) }),
        el('td', { class: 'num', text: p.queueDepth }),
        el('td', { class: 'num', text: p.batchesSent + ' / ' + p.batchFailures }),
        el('td', { class: 'num', text: p.lastSuccessAt > 0 ? duration(p.lastLagMs) : '—' }),
        el('td', { class: 'num' + (p.changesLost > 0 ? ' expired' : ''), text: p.changesLost }),
        el('td', { class: 'num', text: p.heartbeatsDropped }),
        el('td', { class: 'small', title: p.lastFailureAt > 0 ? 'at ' + iso(p.lastFailureAt) : null, text: p.lastError ? p.lastError + ' (' + ago(p.lastFailureAt, now) + ')' : '—' })
      ]);
    });
    fill('peers', [
      el('h2', null, title),
      table(['Peer', 'Health', 'Last successful batch', '#Queue', '#Batches ok / failed', '#Lag of last batch', '#Lost changes', '#Dropped heartbeats', 'Last error'], rows, 'No peers: this server runs standalone.')
    ]);
  }

  function countChips(byStatus) {
    return el('span', { class: 'chips' }, STATUSES.filter(function (s) { return byStatus[s] > 0; }).map(function (s) {
      return el('span', { class: 'badge ' + STATUS_CLASS[s], text: byStatus[s] + ' ' + s });
    }));
  }
  function zoneChips(byZone) {
    return el('span', { class: 'chips' }, Object.keys(byZone).sort().map(function (z) {
      return el('span', { class: 'chip' }, [el('span', { class: 'k', text: 'zone ' }), z + ': ' + byZone[z]]);
    }));
  }
  function metadataChips(md) {
    var keys = Object.keys(md).sort();
    if (keys.length === 0) return el('span', { class: 'muted', text: '—' });
    return el('span', { class: 'chips' }, keys.map(function (k) {
      return el('span', { class: 'chip' }, [el('span', { class: 'k', text: k + '=' }), md[k]]);
    }));
  }

  function renderApplications(d) {
    var now = d.now;
    var t = d.totals;
    var f = d.filter;
    var title = ['Applications', el('span', { class: 'muted small', text: t.applications + ' applications, ' + t.instances + ' instances' }), countChips(t.byStatus)];
    var notes = [];
    if (f.q) notes.push(el('p', { class: 'muted small', text: 'Filter "' + f.q + '": ' + f.matchedInstances + ' instances in ' + f.matchedApplications + ' applications.' }));
    if (f.detailedInstances < f.matchedInstances) notes.push(el('p', { class: 'muted small', text: 'Showing details of the first ' + f.detailedInstances + ' of ' + f.matchedInstances + ' instances; narrow the filter to see the others.' }));
    var defaultOpen = f.matchedInstances <= 200;
    var apps = d.applications.map(function (a) {
      var open = a.name in state.open ? state.open[a.name] : defaultOpen;
      var rows = a.instances.map(function (i) {
        var addr = i.ipAddr + (i.port !== null ? ':' + i.port : '') + (i.securePort !== null ? ' (secure :' + i.securePort + ')' : '');
        var expired = i.leaseMsLeft < 0;
        return el('tr', { 'data-instance': a.name + '/' + i.id }, [
          el('td', { class: 'mono', text: i.id }),
          el('td', { class: 'mono', text: i.hostName }),
          el('td', { class: 'mono', text: addr }),
          el('td', { class: 'status' }, statusBadge(i.status)),
          el('td', { class: 'override', title: i.overriddenStatus !== 'UNKNOWN' ? 'set by an operator (PUT …/status)' : null }, i.overriddenStatus !== 'UNKNOWN' ? statusBadge(i.overriddenStatus) : el('span', { class: 'muted', text: '—' })),
          el('td', { text: i.zone || '—' }),
          el('td', { title: iso(i.lastRenewalTimestamp), text: ago(i.lastRenewalTimestamp, now) }),
          el('td', { class: 'num' + (expired ? ' expired' : ''), title: 'expires ' + iso(i.leaseExpiresAt) + ', heartbeat every ' + i.renewalIntervalSecs + ' s', text: expired ? 'expired ' + duration(-i.leaseMsLeft) + ' ago' : duration(i.leaseMsLeft) }),
          el('td', null, metadataChips(i.metadata))
        ]);
      });
      var details = el('details', { class: 'app', open: open, 'data-app': a.name, ontoggle: function () {
        // Remember what the operator chose, not the default this render applied.
        if (details.open !== open || a.name in state.open) state.open[a.name] = details.open;
      } }, [
        el('summary', null, [el('span', { class: 'app-name', text: a.name }), el('span', { class: 'muted small', text: a.total + (a.total === 1 ? ' instance' : ' instances') }), countChips(a.byStatus), zoneChips(a.byZone)]),
        el('div', { class: 'table-wrap' }, rows.length ? table(['Instance', 'Host', 'Address', 'Status', 'Override', 'Zone', 'Last renewal', '#Lease left', 'Metadata'], rows) : el('div', { class: 'empty', text: 'Details not shown (instance limit reached).' }))
      ]);
      return details;
    });
    fill('applications', [el('h2', null, title)].concat(notes, apps.length ? apps : [el('div', { class: 'empty', text: f.q ? 'Nothing matches the filter.' : 'No instances are registered.' })]));
  }

  function changeRows(list) {
    return list.map(function (c) {
      var kindClass = c.kind === 'registered' ? 'ok' : c.kind === 're-registered' ? 'info' : c.kind === 'evicted' ? 'bad' : 'warn';
      return el('tr', null, [
        el('td', { title: iso(c.at), text: clock(c.at) }),
        el('td', null, el('span', { class: 'badge ' + kindClass, text: c.kind })),
        el('td', { class: 'mono', text: c.app }),
        el('td', { class: 'mono', text: c.id }),
        el('td', { class: 'mono', text: c.ipAddr + ':' + c.port }),
        el('td', { class: 'muted', text: c.origin })
      ]);
    });
  }
  function renderRecent(d) {
    var headers = ['Time', 'Change', 'Application', 'Instance', 'Address', 'Origin'];
    fill('recent', [
      el('h2', null, 'Recent changes'),
      el('div', { class: 'grid2' }, [
        el('div', null, [el('h3', { text: 'Registrations' }), table(headers, changeRows(d.recent.registrations), 'No registrations yet.')]),
        el('div', null, [el('h3', { text: 'Cancellations and evictions' }), table(headers, changeRows(d.recent.removals), 'No cancellations or evictions yet.')])
      ])
    ]);
  }

  var GROUP_TITLES = { leases: 'Leases and eviction', selfPreservation: 'Self-preservation', replication: 'Replication', startupSync: 'Startup sync', security: 'Security' };
  function renderServer(d) {
    var s = d.server;
    var facts = el('div', { class: 'numbers' }, [
      number('Zone', s.zone, 'region ' + s.region),
      number('Version', s.version),
      number('Uptime', duration(s.uptimeMs), 'since ' + iso(s.startedAt)),
      number('Registry revision', s.revision),
      s.responseCache ? number('Response cache', s.responseCache.hits + ' hits', s.responseCache.rebuilds + ' rebuilds') : null
    ]);
    var groups = [];
    if (s.settings) {
      Object.keys(s.settings).forEach(function (g) {
        var values = s.settings[g];
        groups.push(el('div', null, [el('h3', { text: GROUP_TITLES[g] || g }), el('dl', null, Object.keys(values).reduce(function (acc, k) {
          acc.push(el('dt', { text: k }), el('dd', { text: String(values[k]) }));
          return acc;
        }, []))]));
      });
    }
    fill('server', [el('h2', null, 'This server'), facts, groups.length ? el('div', { class: 'settings' }, groups) : el('p', { class: 'muted small', text: 'Settings are not available.' })]);
  }

  function render(d) {
    renderHeader(d);
    renderSelfPreservation(d);
    renderPeers(d);
    renderApplications(d);
    renderRecent(d);
    renderServer(d);
  }

  // ---- Polling.
  function showError(message) {
    var banner = byId('banner');
    banner.textContent = message + (state.lastOk ? ' Showing data from ' + clock(state.lastOk) + '.' : '');
    banner.hidden = false;
    var updated = byId('updated');
    updated.textContent = 'update failed';
    updated.className = 'updated stale';
  }

  function poll() {
    clearTimeout(state.timer);
    var seq = ++state.seq;
    var url = 'api/overview?recent=25' + (state.q ? '&q=' + encodeURIComponent(state.q) : '');
    fetch(url, { cache: 'no-store', headers: { accept: 'application/json' } })
      .then(function (res) {
        if (!res.ok) throw new Error('the server answered ' + res.status);
        return res.json();
      })
      .then(function (d) {
        if (seq !== state.seq) return;
        state.data = d;
        state.lastOk = Date.now();
        render(d);
        byId('banner').hidden = true;
        var updated = byId('updated');
        updated.textContent = 'updated ' + clock(state.lastOk) + ' · every ' + refreshMs / 1000 + ' s';
        updated.className = 'updated';
        document.body.setAttribute('data-revision', String(d.server.revision));
      })
      .catch(function (e) {
        if (seq !== state.seq) return;
        showError('Cannot load the overview: ' + (e && e.message ? e.message : String(e)) + '.');
      })
      .then(function () {
        if (seq === state.seq) state.timer = setTimeout(poll, refreshMs);
      });
  }

  function start() {
    var input = byId('filter');
    input.value = state.q;
    var debounce = 0;
    input.addEventListener('input', function () {
      clearTimeout(debounce);
      debounce = setTimeout(function () {
        state.q = input.value.trim();
        var p = new URLSearchParams(window.location.search);
        if (state.q) p.set('q', state.q); else p.delete('q');
        var qs = p.toString();
        window.history.replaceState(null, '', window.location.pathname + (qs ? '?' + qs : ''));
        poll();
      }, 250);
    });
    document.addEventListener('visibilitychange', function () { if (!document.hidden) poll(); });
    poll();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
`;
