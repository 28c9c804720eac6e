// deploy/prometheus/alerts.yaml and deploy/grafana/zone-registry.json against the server: every metric their queries
// name is one a server's GET /metrics exports (histogram series by their family), so they cannot drift from
// src/observability/metrics.ts; promtool checks the rules where it is installed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { parse } from 'yaml';
import { defaultSettings } from '../../src/config/settings';
import { ManualClock } from '../../src/domain/clock';
import { silentLogger } from '../../src/observability/logger';
import { compose } from '../../src/server';
import { ManualScheduler } from '../helpers/replication-scheduler';

const ROOT = join(__dirname, '..', '..');
const ALERTS_FILE = join(ROOT, 'deploy', 'prometheus', 'alerts.yaml');
const ALERT_TESTS_FILE = join(ROOT, 'deploy', 'prometheus', 'alerts.test.yaml');
const DASHBOARD_FILE = join(ROOT, 'deploy', 'grafana', 'zone-registry.json');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Panel {
  type: string;
  id: number;
  title: string;
  datasource?: { uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; refId: string }[];
}

const rules = (parse(readFileSync(ALERTS_FILE, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { uid: string; panels: Panel[]; templating: { list: { name: string }[] } };
const panels = dashboard.panels.filter((p) => p.type !== 'row');

/** PromQL words that are not metric names: functions are told apart by their '(', but not aggregations with `by`/`without` first. */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan', 'sum', 'count', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values']);

/** The metric names a PromQL expression reads (label matchers, grouping labels, strings and ranges left out). */
function metricsOf(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1');
  const names: string[] = [];
  for (const m of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const at = m.index ?? 0;
    // Functions (followed by '('), keywords, and the exponent of a number (1e5) are not metrics.
    if (/^\s*\(/.test(bare.slice(at + word.length)) || KEYWORDS.has(word.toLowerCase()) || /[0-9.]$/.test(bare.slice(0, at))) continue;
    names.push(word);
  }
  return names;
}

/** Metric families of an exposition text: name → type. */
function families(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1], m[2]);
  return out;
}

/** The family a series name belongs to: itself, or a histogram's/summary's for _bucket, _sum and _count. */
function familyOf(name: string, known: Map<string, string>): string | undefined {
  if (known.has(name)) return name;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  return m && ['histogram', 'summary'].includes(known.get(m[1]) ?? '') ? m[1] : undefined;
}

describe('monitoring', () => {
  let exported: Map<string, string>;

  beforeAll(async () => {
    // Everything on that exports series of its own: health checks, and a peer (never contacted: the server does not listen).
    const server = compose(
      { settings: { ...defaultSettings(), healthChecksEnabled: true }, peerSet: { self: undefined, peers: ['http://127.0.0.1:9/eureka/'] } },
      { clock: new ManualClock(), logger: silentLogger, scheduler: new ManualScheduler(new ManualClock()) },
    );
    try {
      const res = await request(server.app).get('/metrics').expect(200);
      exported = families(res.text);
    } finally {
      await server.close();
    }
  });

  describe('metricsOf', () => {
    it('finds the metrics of an expression and nothing else', () => {
      expect(metricsOf('histogram_quantile(0.99, sum by (le, route) (rate(zone_registry_http_request_duration_seconds_bucket{instance=~"$instance", code=~"5.."}[5m])))')).toEqual(['zone_registry_http_request_duration_seconds_bucket']);
      expect(metricsOf('(increase(a_total[5m]) > 0) unless on (instance, peer) (increase(b_total[5m]) > 0.1 * sum without (status) (c))')).toEqual(['a_total', 'b_total', 'c']);
      expect(metricsOf('time() - (x_seconds > 0) or vector(0)')).toEqual(['x_seconds']);
    });
  });

  describe('alert rules', () => {
    it('alert on self-preservation, failing and lagging replication, lost changes, an unreachable peer, a server not ready and an eviction spike', () => {
      expect(rules.map((r) => r.alert)).toEqual(
        expect.arrayContaining(['ZoneRegistrySelfPreservation', 'ZoneRegistryReplicationFailing', 'ZoneRegistryReplicationLagging', 'ZoneRegistryChangesLost', 'ZoneRegistryPeerUnreachable', 'ZoneRegistryNotReady', 'ZoneRegistryEvictionSpike']),
      );
      expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
      for (const r of rules) {
        expect(['critical', 'warning', 'info']).toContain(r.labels?.severity);
        expect(r.annotations?.summary).toEqual(expect.any(String));
        expect(r.annotations?.description).toEqual(expect.any(String));
      }
    });

    it('use only metrics a server exports', () => {
      const used = rules.flatMap((r) => metricsOf(r.expr));
      expect(used.length).toBeGreaterThanOrEqual(rules.length);
      expect([...new Set(used)].filter((name) => familyOf(name, exported) === undefined)).toEqual([]);
    });

    it('pass promtool check rules and their unit tests (alerts.test.yaml), where promtool is installed', () => {
      const unitTests = parse(readFileSync(ALERT_TESTS_FILE, 'utf8')) as { rule_files: string[]; tests: { alert_rule_test: { alertname: string }[] }[] };
      expect(unitTests.rule_files).toEqual(['alerts.yaml']);
      const tested = unitTests.tests.flatMap((t) => t.alert_rule_test.map((a) => a.alertname));
      expect(tested.filter((name) => !rules.some((r) => r.alert === name))).toEqual([]);
      const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
      if (probe.error !== undefined) {
        // Not installed here: the file is at least the shape promtool reads.
        expect((probe.error as NodeJS.ErrnoException).code).toBe('ENOENT');
        expect(rules.every((r) => typeof r.expr === 'string' && r.expr.trim() !== '' && (r.for === undefined || /^\d+[smhd]$/.test(r.for)))).toBe(true);
        return;
      }
      const check = spawnSync('promtool', ['check', 'rules', ALERTS_FILE], { encoding: 'utf8' });
      expect({ status: check.status, output: check.stdout + check.stderr }).toEqual({ status: 0, output: expect.stringContaining(`SUCCESS: ${rules.length} rules found`) });
      const unit = spawnSync('promtool', ['test', 'rules', ALERT_TESTS_FILE], { encoding: 'utf8' });
      expect({ status: unit.status, output: unit.stdout + unit.stderr }).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
    });
  });

  describe('Grafana dashboard', () => {
    it('queries only metrics a server exports', () => {
      const used = panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricsOf(t.expr)));
      expect(used.length).toBeGreaterThanOrEqual(panels.length);
      expect([...new Set(used)].filter((name) => familyOf(name, exported) === undefined)).toEqual([]);
      // The server selector reads a metric every server exports.
      expect(exported.has('zone_registry_info')).toBe(true);
    });

    it('is importable: unique panel ids, every panel on the chosen data source with queries, within the 24-column grid', () => {
      expect(dashboard.uid).toBe('zone-registry');
      expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'instance']);
      const ids = dashboard.panels.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const p of panels) {
        expect(p.datasource?.uid).toBe('${datasource}');
        expect(p.targets?.length).toBeGreaterThan(0);
        expect(new Set(p.targets!.map((t) => t.refId)).size).toBe(p.targets!.length);
        expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      }
    });
  });
});
