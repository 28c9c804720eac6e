// @ts-check
// The operators' dashboard script: loads api/overview when the registry's event stream (eureka/watch) reports a
// change, and on a slow timer for what changes without one (peers, lease ages); polls on the `refresh` period while
// the stream is down. Renders with createElement and textContent only, so registry data is always text. Plain browser JavaScript, served as is; tsconfig.dashboard.json type-checks it
// against the server's own Overview type.

/** @typedef {import('../overview').Overview} Overview */
/** @typedef {Overview['peers'][number]} PeerOverview */
/** @typedef {import('../overview').InstanceOverview} InstanceOverview */
/** @typedef {import('../../../observability/recent-changes').RecentChange} RecentChange */
/** @typedef {Node | string | number | null | undefined | false} Child */
/** @typedef {Child | Child[]} Children */
/**
 * Element properties el() understands: class, text, open, css (CSS property names to values), on<event> listeners,
 * and any other attribute.
 * @typedef {Record<string, unknown>} Props
 */

(function () {
  'use strict';

  var STATUSES = ['UP', 'DOWN', 'OUT_OF_SERVICE', 'STARTING', 'UNKNOWN'];
  /** @type {Record<string, string>} */
  var STATUS_CLASS = { UP: 'st-up', DOWN: 'st-down', OUT_OF_SERVICE: 'st-oos', STARTING: 'st-starting', UNKNOWN: 'st-unknown' };
  /** @type {Record<string, string>} */
  var PEER_CLASS = { healthy: 'ok', failing: 'bad', 'not-ready': 'warn', idle: 'idle' };
  var params = new URLSearchParams(window.location.search);
  var refreshMs = Math.min(60000, Math.max(500, Number(params.get('refresh')) || 3000));
  // While the event stream is live, changes arrive by it; the rest (peers, lease ages) is refreshed this often.
  var liveRefreshMs = Math.max(refreshMs, 15000);
  /** @type {{ q: string, open: Record<string, boolean>, timer: ReturnType<typeof setTimeout> | 0, seq: number, lastOk: number, data: Overview | null, live: boolean, soon: ReturnType<typeof setTimeout> | 0 }} */
  var state = { q: params.get('q') || '', open: Object.create(null), timer: 0, seq: 0, lastOk: 0, data: null, live: false, soon: 0 };

  // ---- DOM helpers: text only ever goes through textContent / createTextNode.
  /**
   * @template {keyof HTMLElementTagNameMap} K
   * @param {K} tag
   * @param {Props | null} [props]
   * @param {Children} [children]
   * @returns {HTMLElementTagNameMap[K]}
   */
  function el(tag, props, children) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        var v = props[k];
        if (v === undefined || v === null || v === false) return;
        if (k === 'class') node.className = /** @type {string} */ (v);
        else if (k === 'text') node.textContent = String(v);
        else if (k === 'open') /** @type {HTMLDetailsElement} */ (node).open = true;
        else if (k === 'css') {
          var css = /** @type {Record<string, string>} */ (v);
          Object.keys(css).forEach(function (p) { node.style.setProperty(p, css[p]); });
        }
        else if (k.slice(0, 2) === 'on') node.addEventListener(k.slice(2), /** @type {EventListener} */ (v));
        else node.setAttribute(k, String(v));
      });
    }
    append(node, children);
    return node;
  }
  /**
   * @param {Node} node
   * @param {Children} [children]
   */
  function append(node, children) {
    if (children === undefined || children === null) return;
    if (!Array.isArray(children)) children = [children];
    children.forEach(function (c) {
      if (c === undefined || c === null || c === false) return;
      node.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    });
  }
  /**
   * An element of the page, which always has these ids.
   * @param {string} id
   * @returns {HTMLElement}
   */
  function byId(id) { return /** @type {HTMLElement} */ (document.getElementById(id)); }
  /**
   * @param {string} id
   * @param {Children} children
   */
  function fill(id, children) {
    var node = byId(id);
    node.replaceChildren();
    append(node, children);
  }

  // ---- Formatting.
  /** @param {number} ms */
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
  /**
   * @param {number} ts epoch ms
   * @param {number} now epoch ms
   */
  function ago(ts, now) { return ts > 0 ? duration(now - ts) + ' ago' : 'never'; }
  /** @param {number} ts epoch ms */
  function iso(ts) { return ts > 0 ? new Date(ts).toISOString() : ''; }
  /** @param {number} ts epoch ms */
  function clock(ts) {
    if (!(ts > 0)) return '—';
    var d = new Date(ts);
    /** @param {number} n */
    function two(n) { return (n < 10 ? '0' : '') + n; }
    return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
  }
  /** @param {string} status */
  function statusBadge(status) {
    return el('span', { class: 'badge ' + (STATUS_CLASS[status] || 'st-unknown'), text: status });
  }
  /**
   * @param {string} label
   * @param {string | number} value
   * @param {string | null} [hint]
   */
  function number(label, value, hint) {
    return el('div', { class: 'number' }, [el('div', { class: 'label', text: label }), el('div', { class: 'value', text: value }), hint ? el('div', { class: 'hint', text: hint }) : null]);
  }
  /**
   * Headers starting with # are numeric columns.
   * @param {string[]} headers
   * @param {HTMLTableRowElement[]} rows
   * @param {string} [emptyText]
   */
  function table(headers, rows, emptyText) {
    if (rows.length === 0) return el('div', { class: 'empty', text: emptyText });
    var head = el('tr', null, headers.map(function (h) {
      var num = h.charAt(0) === '#';
      return el('th', { class: num ? 'num' : null, text: num ? h.slice(1) : h });
    }));
    return el('div', { class: 'table-wrap' }, el('table', null, [el('thead', null, head), el('tbody', null, rows)]));
  }

  // ---- Sections.
  /** @param {Overview} d */
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
      el('span', { class: 'badge ' + (s.leaseExpirationEnabled ? 'ok' : 'warn'), text: s.leaseExpirationEnabled ? 'lease expiry on' : 'lease expiry suspended' }),
      dnsLine(d)
    ]);
  }

  /**
   * Where the DNS interface answers, or that it is off.
   * @param {Overview} d
   */
  function dnsLine(d) {
    var dns = d.dns;
    if (!dns) return null;
    if (!dns.enabled || dns.port === undefined) return el('span', { 'data-test': 'dns', title: 'dnsEnabled is false' }, ['DNS ', el('b', { text: 'off' })]);
    var host = dns.host && dns.host.indexOf(':') >= 0 ? '[' + dns.host + ']' : dns.host;
    return el('span', { 'data-test': 'dns', title: 'UDP and TCP; e.g. dig @' + dns.host + ' -p ' + dns.port + ' <app>.' + dns.domain + ' SRV' }, ['DNS ', el('b', { text: host + ':' + dns.port }), ' ', dns.domain]);
  }

  /**
   * DNS queries answered since start, and how many were NXDOMAIN or REFUSED.
   * @param {NonNullable<Overview['dns']>} dns
   */
  function dnsNumber(dns) {
    /** @type {Record<string, number>} */
    var by = {};
    var total = 0;
    dns.queries.forEach(function (q) {
      by[q.rcode] = (by[q.rcode] || 0) + q.count;
      total += q.count;
    });
    return number('DNS queries', total, (by.NXDOMAIN || 0) + ' NXDOMAIN, ' + (by.REFUSED || 0) + ' refused, ' + dns.truncated + ' truncated');
  }

  /** @param {Overview} d */
  function renderSelfPreservation(d) {
    var sp = d.selfPreservation;
    /** @type {Child[]} */
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

  /** @param {Overview} d */
  function renderHeld(d) {
    var h = d.heldPastExpiry;
    var banner = byId('held');
    if (h.instances === 0) {
      banner.hidden = true;
      banner.replaceChildren();
      return;
    }
    var since = h.since > 0 ? ' since ' + clock(h.since) + ' (' + duration(d.now - h.since) + ')' : '';
    var why = d.selfPreservation ? d.selfPreservation.reason : 'lease expiry is suspended';
    banner.textContent = 'Self-preservation: ' + h.instances + ' of ' + d.totals.instances + ' instances are held past their lease expiry' + since + '. They stopped renewing but are not evicted: ' + why + '.';
    banner.hidden = false;
  }

  /** @param {Overview} d */
  function renderHealthChecks(d) {
    var h = d.healthChecks;
    /** @type {Child[]} */
    var title = ['Health checks'];
    if (!h || !h.enabled) {
      title.push(el('span', { class: 'badge idle', text: 'OFF', 'data-test': 'hc-state' }));
      fill('health-checks', [el('h2', null, title), el('p', { class: 'muted', text: 'This server does not probe instances (healthChecksEnabled is false).' })]);
      return;
    }
    var v = h.valve;
    title.push(v.engaged
      ? el('span', { class: 'badge warn', text: 'VALVE ENGAGED: no instance is marked DOWN', title: 'since ' + iso(v.since), 'data-test': 'hc-state' })
      : el('span', { class: 'badge ok', text: 'marking DOWN', 'data-test': 'hc-state' }));
    var p = h.probes;
    var failed = p.unhealthy + p.timeout + p.error;
    fill('health-checks', [
      el('h2', null, title),
      v.engaged ? el('p', { class: 'reason', text: Math.round(v.failingFraction * 100) + ' % of the probes of the last interval failed (threshold ' + Math.round(v.threshold * 100) + ' %): the network of this server is the likely fault. Probing goes on; instances are marked DOWN again once the fraction falls back.' }) : null,
      el('div', { class: 'numbers' }, [
        number('Probed here', h.instances.probed, 'every ' + duration(h.intervalMs)),
        number('Held DOWN now', h.markedDown, h.markedDownTotal + ' marked, ' + h.markedUpTotal + ' cleared'),
        number('Refused', h.instances.refused, h.refusedTotal + ' health URLs refused'),
        number('Not probed', h.instances.off, 'healthcheck.mode=off or no URL'),
        number('Probes', p.healthy + failed, failed + ' failed (' + p.timeout + ' timeouts)'),
        number('Failing (last interval)', Math.round(v.failingFraction * 100) + ' %', v.failures + ' of ' + v.probes + ' probes')
      ])
    ]);
  }

  /** @param {InstanceOverview} i */
  function healthCell(i) {
    /** @type {Child[]} */
    var parts = [];
    if (i.statusSource === 'health') parts.push(el('span', { class: 'badge st-down', text: 'DOWN by health check', title: 'the instance reports UP; a health check holds it DOWN' }));
    var h = i.health;
    if (h) {
      var detail = h.mode + (h.lastOutcome ? ': ' + (h.lastDetail || h.lastOutcome) : ': not probed yet');
      if (h.mode === 'refused' || h.mode === 'off') detail = h.mode + ': ' + h.target;
      else if (h.consecutiveFailures > 0) detail += ' (' + h.consecutiveFailures + ' failed in a row)';
      parts.push(el('span', { class: 'small' + (h.mode === 'refused' || h.consecutiveFailures > 0 ? ' expired' : ' muted'), title: h.target + (h.lastProbeAt ? ', last probe ' + iso(h.lastProbeAt) : ''), text: detail }));
    }
    return parts.length ? parts : el('span', { class: 'muted', text: '—' });
  }

  /** @param {PeerOverview} p */
  function reachability(p) {
    if (p.reachable === null) return p.probe && p.probe.state === 'pending' ? 'not probed yet' : '—';
    if (!p.reachable) return 'unreachable' + (p.probe && p.probe.since > 0 ? ' since ' + clock(p.probe.since) : '');
    var rtt = p.rttMs !== null ? ', ' + p.rttMs + ' ms' : '';
    if (p.ready === true) return 'ready' + rtt;
    if (p.ready === false) return 'not ready' + rtt;
    return 'reachable' + rtt + (p.probe ? ' (answered ' + p.probe.lastStatus + ')' : '');
  }

  /** @param {Overview} d */
  function renderPeers(d) {
    var now = d.now;
    var failing = d.peers.filter(function (p) { return p.health === 'failing'; }).length;
    var healthy = d.peers.filter(function (p) { return p.health === 'healthy'; }).length;
    /** @type {Child[]} */
    var title = ['Peers'];
    if (d.peers.length > 0) title.push(el('span', { class: 'badge ' + (failing ? 'bad' : healthy === d.peers.length ? 'ok' : 'warn'), 'data-test': 'peers-state', text: failing ? failing + ' of ' + d.peers.length + ' failing' : healthy + ' of ' + d.peers.length + ' healthy' }));
    var rows = d.peers.map(function (p) {
      var lagKnown = p.lastSuccessAt > 0 && p.health !== 'failing';
      return el('tr', { class: p.health === 'failing' ? 'failing' : null, 'data-peer': p.url }, [
        el('td', { class: 'mono', text: p.url }),
        el('td', { class: 'zone', text: p.zone || '—' }),
        el('td', { class: 'health' }, el('span', { class: 'badge ' + (PEER_CLASS[p.health] || 'idle'), title: p.summary, text: p.health })),
        el('td', { class: 'reachable' + (p.reachable === false ? ' expired' : ''), title: p.probe && p.probe.lastError ? p.probe.lastError : null, text: reachability(p) }),
        el('td', { class: 'seen', title: p.lastSeenAt ? iso(p.lastSeenAt) : null, text: p.lastSeenAt === null ? '—' : ago(p.lastSeenAt, now) }),
        el('td', { title: iso(p.lastSuccessAt), text: ago(p.lastSuccessAt, now) }),
        el('td', { class: 'num', text: p.queueDepth }),
        el('td', { class: 'num', text: p.batchesSent + ' / ' + p.batchFailures }),
        el('td', { class: 'num', title: lagKnown ? null : 'no lag is shown for a failing peer: its last value would say it is fine', text: lagKnown ? duration(p.lastLagMs) : '—' }),
        el('td', { class: 'num' + (p.changesLost > 0 ? ' expired' : ''), text: p.changesLost }),
        el('td', { class: 'num', text: p.heartbeatsDropped }),
        el('td', { class: 'small', title: p.lastFailureAt > 0 ? 'at ' + iso(p.lastFailureAt) : null, text: p.lastError ? p.lastError + ' (' + ago(p.lastFailureAt, now) + ')' : '—' }),
        el('td', { class: 'small comparison', title: comparisonDetail(p.comparison, now), text: comparisonSummary(p.comparison, now) })
      ]);
    });
    fill('peers', [
      el('h2', null, title),
      table(['Peer', 'Zone', 'Health', 'Probe', 'Last seen', 'Last successful batch', '#Queue', '#Batches ok / failed', '#Lag of last batch', '#Lost changes', '#Dropped heartbeats', 'Last error', 'Registry comparison'], rows, 'No peers: this server runs standalone.')
    ]);
  }

  // The registry comparison with a peer (anti-entropy) in a few words: in sync since when, or what differs.
  /** @param {PeerOverview['comparison']} c @param {number} now */
  function comparisonSummary(c, now) {
    if (!c) return '—';
    switch (c.state) {
      case 'pending': return 'not compared yet';
      case 'in-sync': return 'in sync since ' + clock(c.inSyncSince);
      case 'repairing': return c.appsDiffering + ' app' + (c.appsDiffering === 1 ? '' : 's') + ' differed ' + ago(c.lastComparisonAt, now);
      case 'failing': return 'failing: ' + c.lastError;
      case 'unsupported': return 'not supported by the peer';
    }
    return c.state;
  }

  /** @param {PeerOverview['comparison']} c @param {number} now */
  function comparisonDetail(c, now) {
    if (!c) return null;
    return 'last compared ' + ago(c.lastComparisonAt, now) + '; ' + c.instancesRepaired + ' instances repaired' + (c.lastRepairAt > 0 ? ', last ' + ago(c.lastRepairAt, now) : '') + '; ' + c.comparisons + ' comparisons, ' + c.failures + ' failed';
  }

  /** @param {Record<string, number>} byStatus */
  function countChips(byStatus) {
    return el('span', { class: 'chips' }, STATUSES.filter(function (s) { return byStatus[s] > 0; }).map(function (s) {
      return el('span', { class: 'badge ' + STATUS_CLASS[s], text: byStatus[s] + ' ' + s });
    }));
  }
  /** @param {Record<string, number>} byZone */
  function zoneChips(byZone) {
    return el('span', { class: 'chips' }, Object.keys(byZone).sort().map(function (z) {
      return el('span', { class: 'chip' }, [el('span', { class: 'k', text: 'zone ' }), z + ': ' + byZone[z]]);
    }));
  }
  // Links only to http(s) URLs (the server sends nothing else; checked again here): never javascript: or data:.
  /** @param {string | null} url @param {string} label */
  function pageLink(url, label) {
    if (!url || !/^https?:\/\//i.test(url)) return null;
    return el('a', { href: url, target: '_blank', rel: 'noopener noreferrer', title: url, text: label });
  }
  /** @param {InstanceOverview} i */
  function pageLinks(i) {
    var links = [pageLink(i.statusPageUrl, 'status'), pageLink(i.homePageUrl, 'home')].filter(function (a) { return a !== null; });
    if (links.length === 0) return el('span', { class: 'muted', text: '—' });
    return el('span', { class: 'chips' }, links);
  }

  /** @param {Readonly<Record<string, string>>} md */
  function metadataChips(md) {
    var keys = Object.keys(md).sort();
    if (keys.length === 0) return el('span', { class: 'muted', text: '—' });
    return el('span', { class: 'chips' }, keys.map(function (k) {
      return el('span', { class: 'chip' }, [el('span', { class: 'k', text: k + '=' }), md[k]]);
    }));
  }

  /** @param {Overview} d */
  function renderApplications(d) {
    var now = d.now;
    var t = d.totals;
    var f = d.filter;
    var held = d.heldPastExpiry.instances;
    /** @type {Child[]} */
    var title = ['Applications', el('span', { class: 'muted small', text: t.applications + ' applications, ' + t.instances + ' instances' }), countChips(t.byStatus),
      held > 0 ? el('span', { class: 'badge warn', 'data-test': 'held', title: 'leases expired, kept by self-preservation', text: held + ' held past expiry' }) : null];
    var suspended = !d.server.leaseExpirationEnabled;
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
          el('td', { class: 'health' }, healthCell(i)),
          el('td', { text: i.zone || '—' }),
          el('td', { title: iso(i.lastRenewalTimestamp), text: ago(i.lastRenewalTimestamp, now) }),
          el('td', { class: 'num lease' + (expired ? ' expired' : ''), title: 'expires ' + iso(i.leaseExpiresAt) + ', heartbeat every ' + i.renewalIntervalSecs + ' s', text: expired ? (suspended ? 'held: ' : '') + 'expired ' + duration(-i.leaseMsLeft) + ' ago' : duration(i.leaseMsLeft) }),
          el('td', { class: 'pages' }, pageLinks(i)),
          el('td', null, metadataChips(i.metadata))
        ]);
      });
      var details = el('details', { class: 'app', open: open, 'data-app': a.name, ontoggle: function () {
        // Remember what the operator chose, not the default this render applied.
        if (details.open !== open || a.name in state.open) state.open[a.name] = details.open;
      } }, [
        el('summary', null, [el('span', { class: 'app-name', text: a.name }), el('span', { class: 'muted small', text: a.total + (a.total === 1 ? ' instance' : ' instances') }), countChips(a.byStatus), zoneChips(a.byZone)]),
        el('div', { class: 'table-wrap' }, rows.length ? table(['Instance', 'Host', 'Address', 'Status', 'Override', 'Health check', 'Zone', 'Last renewal', '#Lease left', 'Pages', 'Metadata'], rows) : el('div', { class: 'empty', text: 'Details not shown (instance limit reached).' }))
      ]);
      return details;
    });
    fill('applications', /** @type {Child[]} */ ([el('h2', null, title)]).concat(notes, apps.length ? apps : [el('div', { class: 'empty', text: f.q ? 'Nothing matches the filter.' : 'No instances are registered.' })]));
  }

  /** @param {RecentChange[]} list */
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
  /** @param {Overview} d */
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

  /** @type {Record<string, string>} */
  var GROUP_TITLES = { leases: 'Leases and eviction', selfPreservation: 'Self-preservation', replication: 'Replication', startupSync: 'Startup sync', healthChecks: 'Health checks', dns: 'DNS', security: 'Security' };
  /** @param {Overview} d */
  function renderServer(d) {
    var s = d.server;
    var facts = el('div', { class: 'numbers' }, [
      number('Zone', s.zone, 'region ' + s.region),
      number('Version', s.version),
      number('Uptime', duration(s.uptimeMs), 'since ' + iso(s.startedAt)),
      number('Registry revision', s.revision),
      s.responseCache ? number('Response cache', s.responseCache.hits + ' hits', s.responseCache.rebuilds + ' rebuilds') : null,
      d.dns && d.dns.enabled ? dnsNumber(d.dns) : null
    ]);
    /** @type {HTMLDivElement[]} */
    var groups = [];
    var settings = s.settings || {};
    Object.keys(settings).forEach(function (g) {
      var values = settings[g];
      groups.push(el('div', null, [el('h3', { text: GROUP_TITLES[g] || g }), el('dl', null, Object.keys(values).reduce(function (acc, k) {
        acc.push(el('dt', { text: k }), el('dd', { text: String(values[k]) }));
        return acc;
      }, /** @type {HTMLElement[]} */ ([])))]));
    });
    fill('server', [el('h2', null, 'This server'), facts, groups.length ? el('div', { class: 'settings' }, groups) : el('p', { class: 'muted small', text: 'Settings are not available.' })]);
  }

  /** @param {Overview} d */
  function render(d) {
    renderHeader(d);
    renderHeld(d);
    renderSelfPreservation(d);
    renderHealthChecks(d);
    renderPeers(d);
    renderApplications(d);
    renderRecent(d);
    renderServer(d);
  }

  // ---- Polling.
  /** @param {string} message */
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
      .then(/** @param {Overview} d */ function (d) {
        if (seq !== state.seq) return;
        state.data = d;
        state.lastOk = Date.now();
        render(d);
        byId('banner').hidden = true;
        var updated = byId('updated');
        updated.textContent = 'updated ' + clock(state.lastOk) + (state.live ? ' · live' : ' · every ' + refreshMs / 1000 + ' s');
        updated.className = 'updated';
        document.body.setAttribute('data-revision', String(d.server.revision));
      })
      .then(function () { return true; }, function (e) {
        if (seq !== state.seq) return false;
        showError('Cannot load the overview: ' + (e && e.message ? e.message : String(e)) + '.');
        return false;
      })
      .then(function (ok) {
        // A failed load is retried on the refresh period even while the stream is live.
        if (seq === state.seq) state.timer = setTimeout(poll, state.live && ok ? liveRefreshMs : refreshMs);
      });
  }

  // A burst of changes (a deployment) costs one reload.
  function soon() {
    if (state.soon) return;
    state.soon = setTimeout(function () {
      state.soon = 0;
      poll();
    }, 200);
  }

  // ---- Changes pushed by the server: reload on each (EventSource reconnects by itself and resumes by Last-Event-ID).
  function watch() {
    if (typeof EventSource === 'undefined') return;
    var source = new EventSource('eureka/watch');
    source.addEventListener('ready', function () {
      state.live = true;
      soon();
    });
    source.addEventListener('change', soon);
    source.addEventListener('reset', soon);
    source.addEventListener('error', function () {
      // Back to polling on the refresh period until the stream is back.
      if (!state.live) return;
      state.live = false;
      soon();
    });
  }

  function start() {
    var input = /** @type {HTMLInputElement} */ (byId('filter'));
    input.value = state.q;
    /** @type {ReturnType<typeof setTimeout> | 0} */
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
    watch();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
