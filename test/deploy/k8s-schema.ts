/**
 * Offline checks of Kubernetes objects against the API's OpenAPI schemas as
 * the kubernetes-models package ships them: its validators (types, required
 * fields, formats, enums) and its TypeScript interfaces, type-checked with
 * excess-property checks so that a misspelt field (`readinesProbe`), which
 * the API server would drop or refuse, is an error too.
 */
import path from 'node:path';
import ts from 'typescript';
import type { Manifest } from './manifests.js';

/** kubernetes-models' module for an apiVersion and kind: `apps/v1` + Deployment → `apps/v1/Deployment`. */
export function modelPath(m: { apiVersion: string; kind: string }): string {
  return `kubernetes-models/${m.apiVersion}/${m.kind}`;
}

function plain(m: Manifest): Record<string, unknown> {
  const obj: Record<string, unknown> = { ...m };
  delete obj['file'];
  return obj;
}

/** Problems the kubernetes-models validator finds, one string per object. */
export async function validateObjects(all: readonly Manifest[]): Promise<string[]> {
  const problems: string[] = [];
  for (const m of all) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(modelPath(m))) as Record<string, unknown>;
    } catch {
      problems.push(`${m.file}: ${m.apiVersion} ${m.kind} is not a Kubernetes API type`);
      continue;
    }
    const Model = mod[m.kind] as new (data: unknown) => { validate(): void };
    try {
      new Model(plain(m)).validate();
    } catch (err) {
      problems.push(`${m.file}: ${m.kind} ${m.metadata.name}: ${(err as Error).message}`);
    }
  }
  return problems;
}

/** Type errors (unknown fields among them) of each object assigned to its kubernetes-models interface. */
export function typeCheckObjects(all: readonly Manifest[]): string[] {
  const lines: string[] = [];
  const owner: Manifest[] = [];
  all.forEach((m, i) => {
    lines.push(`import type { I${m.kind} as T${i} } from '${modelPath(m)}';`);
  });
  all.forEach((m, i) => {
    const json = JSON.stringify(plain(m), null, 2).split('\n');
    lines.push(`export const o${i}: T${i} = ${json[0]}`);
    for (const l of json.slice(1)) {
      owner[lines.length] = m;
      lines.push(l);
    }
    lines[lines.length - 1] += ';';
  });
  const fileName = path.resolve('test/deploy/__manifests__.ts');
  const source = lines.join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => (path.resolve(name) === fileName ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    if (!d.file || d.start === undefined) return text;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const m = owner[line];
    return `${m ? `${m.file}: ${m.kind} ${m.metadata.name}: ` : ''}line ${line + 1} of the generated check: ${text} (${lines[line]?.trim()})`;
  });
}
