// deploy/kubernetes without a cluster: the example overlay rendered (test/helpers/kustomize.ts), every object
// validated against the Kubernetes API's schemas (kubernetes-models) and type-checked against its types (no field the
// API does not know), the settings it passes read by the server's own loader, and the node-zone script run against a
// stand-in for the API server.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { IncomingHttpHeaders } from 'node:http';
import { createServer, Server } from 'node:https';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import ts from 'typescript';
import { loadConfig } from '../../src/config/config';
import { envName, SETTINGS } from '../../src/config/settings';
import { makeTestApp } from '../helpers/app';
import { K8sObject, renderKustomization } from '../helpers/kustomize';
import { selfSignedCertificate, TempDir } from '../security/support';

const ROOT = join(__dirname, '..', '..');
const OVERLAY = join(ROOT, 'deploy', 'kubernetes', 'overlays', 'example');

interface Container {
  name: string;
  image: string;
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: { configMapRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: Record<string, unknown> & { seccompProfile?: { type: string } };
  topologySpreadConstraints?: { topologyKey: string; whenUnsatisfiable: string; maxSkew: number; labelSelector: { matchLabels: Record<string, string> } }[];
  initContainers?: Container[];
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string } }[];
}

const objects = renderKustomization(OVERLAY);
const find = <T = K8sObject>(kind: string, name: string): T => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name} in the rendered overlay`);
  return found as unknown as T;
};
const statefulSet = find<K8sObject & { spec: { replicas: number; serviceName: string; podManagementPolicy: string; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } }>('StatefulSet', 'zone-registry');
const pod = statefulSet.spec.template.spec;
const server = pod.containers.find((c) => c.name === 'zone-registry')!;
const settings = find<K8sObject & { data: Record<string, string> }>('ConfigMap', 'zone-registry-settings');

/** The kubernetes-models module and type of an object's kind, e.g. apps/v1 StatefulSet. */
function modelPath(o: K8sObject): string {
  return `kubernetes-models/${o.apiVersion}/${o.kind}`;
}

/** Whether `selector` selects pods labelled `labels`. */
const selects = (selector: Record<string, string>, labels: Record<string, string>): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('deploy/kubernetes', () => {
  describe('the example overlay', () => {
    it('renders a namespace, the pods\' identity and permission, settings, two Services, the StatefulSet and its disruption budget', () => {
      expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
        'ClusterRole/zone-registry-node-reader',
        'ClusterRoleBinding/zone-registry-node-reader',
        'ConfigMap/zone-registry-node-zone',
        'ConfigMap/zone-registry-settings',
        'Namespace/service-discovery',
        'PodDisruptionBudget/zone-registry',
        'Service/zone-registry',
        'Service/zone-registry-peers',
        'ServiceAccount/zone-registry',
        'StatefulSet/zone-registry',
      ]);
      for (const o of objects.filter((x) => !['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(x.kind))) expect(o.metadata.namespace).toBe('service-discovery');
      expect(find<{ subjects: { namespace: string }[] }>('ClusterRoleBinding', 'zone-registry-node-reader').subjects).toEqual([{ kind: 'ServiceAccount', name: 'zone-registry', namespace: 'service-discovery' }]);
      expect([...pod.containers, ...(pod.initContainers ?? [])].map((c) => c.image)).toEqual(['registry.example.com/platform/zone-registry:0.1.0', 'registry.example.com/platform/zone-registry:0.1.0']);
      // The overlay's patches: merged into the base's, not replacing it.
      expect(server.resources).toEqual({ requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '1Gi' } });
      expect(settings.data).toMatchObject({ EUREKA_REGION: 'us-east-1', EUREKA_ZONE_FILE: '/var/run/zone-registry/zone' });
      expect(objects.every((o) => o.metadata.labels?.['app.kubernetes.io/part-of'] === 'service-discovery')).toBe(true);
    });

    it.each(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o] as const))('validates %s against the Kubernetes API schema', (_name, o) => {
      const Model = (require(modelPath(o)) as Record<string, new (data: unknown) => { validate(): void }>)[o.kind];
      expect(Model).toBeDefined();
      expect(() => new Model(o).validate()).not.toThrow();
    });

    it('uses no field the Kubernetes API does not know (the schemas above allow any extra field)', () => {
      // Each object as a literal of its kubernetes-models type: TypeScript refuses any property the type lacks.
      const source = [
        ...objects.map((o, i) => `import type { I${o.kind} as T${i} } from '${modelPath(o)}';`),
        ...objects.map((o, i) => `export const o${i}: T${i} = ${JSON.stringify(o)};`),
      ].join('\n');
      const file = join(ROOT, 'test', 'deploy', '__manifests__.ts');
      const options: ts.CompilerOptions = { strict: true, noEmit: true, skipLibCheck: true, types: [], lib: ['lib.es2022.d.ts'], module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10 };
      const host = ts.createCompilerHost(options);
      const readFile = host.readFile.bind(host);
      const getSourceFile = host.getSourceFile.bind(host);
      host.readFile = (name) => (name === file ? source : readFile(name));
      host.fileExists = ((exists) => (name: string) => name === file || exists(name))(host.fileExists.bind(host));
      host.getSourceFile = (name, version, onError) => (name === file ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, onError));
      const program = ts.createProgram([file], options, host);
      const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      expect(problems).toEqual([]);
    });

    it('runs every container as a non-root user, read-only, without privileges or capabilities, under the runtime\'s seccomp profile', () => {
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
        expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
        expect(c.resources?.requests).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }));
        expect(c.resources?.limits).toEqual(expect.objectContaining({ memory: expect.any(String) }));
      }
      // Only the init container holds an API token.
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(server.volumeMounts?.map((m) => m.name)).not.toContain('kube-api-access');
      expect(pod.initContainers?.[0].volumeMounts?.map((m) => m.name)).toContain('kube-api-access');
    });

    it('probes liveness and readiness on the server\'s own health endpoints, at its port', async () => {
      expect(server.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'eureka' });
      expect(server.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'eureka' });
      expect(server.ports).toEqual([expect.objectContaining({ name: 'eureka', containerPort: Number(settings.data.EUREKA_PORT) })]);
      const test = makeTestApp();
      try {
        await request(test.app).get(server.livenessProbe!.httpGet!.path).expect(200);
        await request(test.app).get(server.readinessProbe!.httpGet!.path).expect(200);
      } finally {
        await test.close();
      }
    });

    it('spreads the servers over zones, keeps all but one through disruptions, and lists not-ready servers to their peers', () => {
      const podLabels = statefulSet.spec.template.metadata.labels;
      expect(selects(statefulSet.spec.selector.matchLabels, podLabels)).toBe(true);
      const zoneSpread = pod.topologySpreadConstraints?.find((t) => t.topologyKey === 'topology.kubernetes.io/zone');
      expect(zoneSpread).toMatchObject({ maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule' });
      expect(selects(zoneSpread!.labelSelector.matchLabels, podLabels)).toBe(true);
      const pdb = find<{ spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } } }>('PodDisruptionBudget', 'zone-registry');
      expect(pdb.spec.maxUnavailable).toBe(1);
      expect(selects(pdb.spec.selector.matchLabels, podLabels)).toBe(true);

      type ServiceSpec = { clusterIP?: string; publishNotReadyAddresses?: boolean; selector: Record<string, string>; ports: { name: string; port: number; targetPort: string }[] };
      const peers = find<{ spec: ServiceSpec }>('Service', statefulSet.spec.serviceName).spec;
      expect(peers).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
      expect(selects(peers.selector, podLabels)).toBe(true);
      const clients = find<{ spec: ServiceSpec }>('Service', 'zone-registry').spec;
      expect(clients.publishNotReadyAddresses).toBeUndefined();
      expect(selects(clients.selector, podLabels)).toBe(true);
      expect(clients.ports).toEqual([expect.objectContaining({ port: 8761, targetPort: 'eureka' })]);

      // peerDnsName is the headless Service's SRV name: _<port name>._tcp.<service>.<namespace>.svc…
      const dnsName = server.env?.find((e) => e.name === envName('peerDnsName'))?.value;
      expect(dnsName).toBe(`_${peers.ports[0].name}._tcp.${statefulSet.spec.serviceName}.$(POD_NAMESPACE).svc.cluster.local`);
      expect(server.env?.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
    });

    it('passes the server only settings it knows, and the server starts from them', () => {
      const known = new Set([...Object.keys(SETTINGS).map(envName), 'POD_NAMESPACE']);
      const passed = [...Object.keys(settings.data), ...(server.env ?? []).map((e) => e.name)];
      expect(passed.filter((name) => !known.has(name))).toEqual([]);
      expect(server.envFrom).toEqual([{ configMapRef: { name: 'zone-registry-settings' } }]);

      const dir = new TempDir();
      try {
        // What the pod's environment holds once Kubernetes expanded $(POD_NAMESPACE) and the init container ran.
        const env: Record<string, string> = { ...settings.data, POD_NAMESPACE: 'service-discovery', EUREKA_ZONE_FILE: dir.file('zone', 'us-east-1b\n') };
        for (const e of server.env ?? []) if (e.value !== undefined) env[e.name] = e.value.replace(/\$\(([A-Z_]+)\)/g, (_m, v: string) => env[v]);
        const config = loadConfig([], env);
        expect(config.settings).toMatchObject({ zone: 'us-east-1b', region: 'us-east-1', peerDnsName: '_eureka._tcp.zone-registry-peers.service-discovery.svc.cluster.local', port: 8761 });
        // The zone file's mount is where the setting points.
        const zoneMount = server.volumeMounts?.find((m) => m.name === 'zone');
        expect(settings.data.EUREKA_ZONE_FILE.startsWith(`${zoneMount?.mountPath}/`)).toBe(true);
      } finally {
        dir.cleanup();
      }
    });
  });

  describe('the node-zone init container', () => {
    const script = find<{ data: Record<string, string> }>('ConfigMap', 'zone-registry-node-zone').data['node-zone.js'];
    const init = pod.initContainers!.find((c) => c.name === 'node-zone')!;
    let dir: TempDir;
    let api: Server;
    let nodes: Record<string, object>;
    let seen: { path?: string; headers?: IncomingHttpHeaders };

    beforeEach(async () => {
      dir = new TempDir();
      const { certFile, keyFile, cert } = selfSignedCertificate(dir, 'api');
      dir.file('ca.crt', cert.toString());
      dir.file('token', 'the-token\n');
      seen = {};
      nodes = {};
      api = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
        seen = { path: req.url, headers: req.headers };
        const name = decodeURIComponent((req.url ?? '').replace('/api/v1/nodes/', ''));
        const node = nodes[name];
        res.writeHead(node === undefined ? 404 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(node ?? { kind: 'Status', code: 404 }));
      });
      await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    });

    afterEach(async () => {
      await new Promise<void>((resolve) => api.close(() => resolve()));
      dir.cleanup();
    });

    const run = (node: string, extra: Record<string, string> = {}): Promise<{ code: number; stderr: string }> => {
      const file = dir.file('node-zone.js', script);
      const env = { PATH: process.env.PATH ?? '', NODE_NAME: node, KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String((api.address() as AddressInfo).port), TOKEN_DIR: dir.path, ZONE_FILE: join(dir.path, 'zone'), ...extra };
      return new Promise((resolve) => {
        execFile(process.execPath, [file], { env, timeout: 15_000 }, (error, _stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }));
      });
    };

    it('is run from the mounted script on the server\'s own image, knowing its node', () => {
      expect(init.command).toEqual(['node', '/opt/zone-registry/node-zone.js']);
      expect(init.image).toBe(server.image);
      const mount = init.volumeMounts?.find((m) => m.mountPath === '/opt/zone-registry');
      expect(pod.volumes?.find((v) => v.name === mount?.name)?.configMap?.name).toBe('zone-registry-node-zone');
      expect(init.env?.find((e) => e.name === 'NODE_NAME')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
      expect(init.volumeMounts?.find((m) => m.name === 'zone')?.mountPath).toBe(server.volumeMounts?.find((m) => m.name === 'zone')?.mountPath);
    });

    it('writes the node\'s zone label where the server reads its zone, asking the API with the pod\'s token', async () => {
      nodes['node-a.internal'] = { kind: 'Node', metadata: { name: 'node-a.internal', labels: { 'topology.kubernetes.io/zone': 'us-east-1c' } } };
      const { code, stderr } = await run('node-a.internal');
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(readFileSync(join(dir.path, 'zone'), 'utf8')).toBe('us-east-1c\n');
      expect(seen.path).toBe('/api/v1/nodes/node-a.internal');
      expect(seen.headers?.authorization).toBe('Bearer the-token');
    });

    it('stops the pod when the node has no zone label, unless told a zone for that', async () => {
      nodes['bare'] = { kind: 'Node', metadata: { name: 'bare', labels: {} } };
      const refused = await run('bare');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('has no topology.kubernetes.io/zone label');
      expect((await run('bare', { ZONE_IF_UNLABELLED: 'single' })).code).toBe(0);
      expect(readFileSync(join(dir.path, 'zone'), 'utf8')).toBe('single\n');
    });

    it('stops the pod, saying why, when the API refuses', async () => {
      const { code, stderr } = await run('unknown-node');
      expect(code).toBe(1);
      expect(stderr).toContain('answered 404');
    });
  });
});
