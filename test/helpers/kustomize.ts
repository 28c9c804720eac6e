// Renders a kustomization the way `kubectl kustomize` does, for exactly the features deploy/kubernetes uses:
// resources (files and directories with their own kustomization), namespace, images (newName/newTag), labels (pairs,
// on metadata.labels only) and patches given as strategic-merge files. Anything else in a kustomization is refused,
// so the manifests cannot start relying on a feature this renderer would silently skip.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as YAML gives it. */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [field: string]: unknown };

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'images', 'labels', 'patches']);

/** Kinds that live outside namespaces (of those a deployment like ours has). */
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PriorityClass', 'StorageClass', 'CustomResourceDefinition']);

/** List fields merged element by element in a strategic merge, by this key (Kubernetes' patchMergeKey). */
const MERGE_KEYS: Record<string, string> = { containers: 'name', initContainers: 'name', volumes: 'name', env: 'name', volumeMounts: 'mountPath', imagePullSecrets: 'name', topologySpreadConstraints: 'topologyKey' };

interface Kustomization {
  resources?: string[];
  namespace?: string;
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean; includeTemplates?: boolean }[];
  patches?: { path?: string; patch?: string; target?: unknown }[];
}

/** Every object the kustomization in `dir` renders to. */
export function renderKustomization(dir: string): K8sObject[] {
  const k = readYaml(join(dir, 'kustomization.yaml'))[0] as Kustomization & Record<string, unknown>;
  const unsupported = Object.keys(k).filter((key) => !SUPPORTED.has(key));
  if (unsupported.length > 0) throw new Error(`${dir}/kustomization.yaml uses ${unsupported.join(', ')}: not supported by test/helpers/kustomize.ts`);
  let objects: K8sObject[] = [];
  for (const resource of k.resources ?? []) {
    const path = join(dir, resource);
    objects.push(...(statSync(path).isDirectory() ? renderKustomization(path) : (readYaml(path) as K8sObject[])));
  }
  for (const p of k.patches ?? []) {
    if (p.path === undefined || p.patch !== undefined || p.target !== undefined) throw new Error(`${dir}: only patches given by path (strategic merge, targeted by their own kind and name) are supported`);
    for (const patch of readYaml(join(dir, p.path)) as K8sObject[]) {
      const i = objects.findIndex((o) => o.apiVersion === patch.apiVersion && o.kind === patch.kind && o.metadata.name === patch.metadata.name);
      if (i < 0) throw new Error(`${dir}/${p.path}: no ${patch.kind} ${patch.metadata.name} to patch`);
      objects[i] = strategicMerge(objects[i] as unknown as Json, patch as unknown as Json) as unknown as K8sObject;
    }
  }
  if (k.namespace !== undefined) objects = objects.map((o) => inNamespace(o, k.namespace!));
  for (const image of k.images ?? []) objects = objects.map((o) => withImage(o, image));
  for (const label of k.labels ?? []) {
    if (label.includeSelectors || label.includeTemplates) throw new Error(`${dir}: labels with includeSelectors/includeTemplates are not supported`);
    objects = objects.map((o) => ({ ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, ...label.pairs } } }));
  }
  return objects;
}

// YAML 1.1, as kubectl reads it (0444 is octal, yes/no are booleans).
function readYaml(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, 'utf8'), { version: '1.1' })
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`${path}: ${d.errors[0].message}`);
      return d.toJS() as unknown;
    })
    .filter((d) => d !== null && d !== undefined);
}

// Maps merge key by key (null deletes); keyed lists element by element; any other list is replaced.
function strategicMerge(base: Json, patch: Json, field = ''): Json {
  if (Array.isArray(patch)) {
    const key = MERGE_KEYS[field];
    if (key === undefined || !Array.isArray(base)) return patch;
    const merged = [...base];
    for (const item of patch) {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new Error(`strategic merge of ${field}: items must be objects`);
      if ('$patch' in item) throw new Error(`strategic merge of ${field}: $patch directives are not supported`);
      const i = merged.findIndex((m) => m !== null && typeof m === 'object' && !Array.isArray(m) && m[key] === item[key]);
      if (i < 0) merged.push(item);
      else merged[i] = strategicMerge(merged[i], item, field);
    }
    return merged;
  }
  if (patch === null || typeof patch !== 'object') return patch;
  if ('$patch' in patch) throw new Error(`strategic merge at ${field}: $patch directives are not supported`);
  const out: { [key: string]: Json } = base !== null && typeof base === 'object' && !Array.isArray(base) ? { ...base } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = strategicMerge(out[k] ?? null, v, k);
  }
  return out;
}

// The namespace transformer: every namespaced object, and the ServiceAccounts role bindings name.
function inNamespace(o: K8sObject, namespace: string): K8sObject {
  const out: K8sObject = CLUSTER_SCOPED.has(o.kind) ? { ...o } : { ...o, metadata: { ...o.metadata, namespace } };
  if ((o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') && Array.isArray(o.subjects)) {
    out.subjects = (o.subjects as { kind: string }[]).map((s) => (s.kind === 'ServiceAccount' ? { ...s, namespace } : s));
  }
  return out;
}

// The images transformer over the pod templates' containers and init containers.
function withImage(o: K8sObject, image: { name: string; newName?: string; newTag?: string; digest?: string }): K8sObject {
  const template = (o.spec as { template?: { spec?: Record<string, unknown> } } | undefined)?.template?.spec;
  if (template === undefined) return o;
  const rewrite = (containers: unknown): unknown =>
    Array.isArray(containers)
      ? containers.map((c: { image?: string }) => {
          if (c.image === undefined) return c;
          const at = c.image.indexOf('@');
          const colon = c.image.lastIndexOf(':');
          const name = at >= 0 ? c.image.slice(0, at) : colon > c.image.lastIndexOf('/') ? c.image.slice(0, colon) : c.image;
          if (name !== image.name) return c;
          const tag = image.digest !== undefined ? `@${image.digest}` : image.newTag !== undefined ? `:${image.newTag}` : c.image.slice(name.length);
          return { ...c, image: `${image.newName ?? name}${tag}` };
        })
      : containers;
  const spec = { ...template, containers: rewrite(template.containers), ...(template.initContainers !== undefined && { initContainers: rewrite(template.initContainers) }) };
  return { ...o, spec: { ...(o.spec as object), template: { ...(o.spec as { template: object }).template, spec } } };
}
