// Manifest text → documents. YAML files may hold several documents (`---`); a `.json` file holds
// one. Syntax errors become diagnostics with the line; empty documents are skipped but still
// counted, so "document N" always matches what an editor shows. Pure: text and a file name in.
import { parseAllDocuments } from 'yaml';
import type { ConfigDiagnostic, SourceLocation } from './diagnostics.js';

export interface RawDocument {
  readonly loc: SourceLocation;
  readonly value: unknown;
}

export interface ParsedText {
  readonly documents: RawDocument[];
  readonly errors: ConfigDiagnostic[];
}

export const isJsonFile = (file: string): boolean => /\.json$/i.test(file);

function syntaxError(file: string, document: number, rule: string, message: string): ConfigDiagnostic {
  return { severity: 'error', file, document, kind: '', name: '', path: '', rule, message };
}

export function parseManifestText(text: string, file: string): ParsedText {
  return isJsonFile(file) ? parseJson(text, file) : parseYaml(text, file);
}

function parseJson(text: string, file: string): ParsedText {
  if (text.trim() === '') return { documents: [], errors: [] };
  try {
    return { documents: [{ loc: { file, document: 1, prefix: [] }, value: JSON.parse(text) as unknown }], errors: [] };
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return { documents: [], errors: [syntaxError(file, 1, 'json-syntax', `invalid JSON: ${reason}`)] };
  }
}

function parseYaml(text: string, file: string): ParsedText {
  const documents: RawDocument[] = [];
  const errors: ConfigDiagnostic[] = [];
  // uniqueKeys (the default) makes a repeated key an error: Go's YAML would silently keep one.
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const index = i + 1;
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const firstLine = (err.message.split('\n')[0] ?? err.message).replace(/:$/, '');
        errors.push(syntaxError(file, index, 'yaml-syntax', `invalid YAML: ${firstLine}`));
      }
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      // e.g. an alias bomb ("Excessive alias count"): still the user's document, not our crash.
      errors.push(syntaxError(file, index, 'yaml-syntax', `invalid YAML: ${e instanceof Error ? e.message : String(e)}`));
      return;
    }
    if (value === null || value === undefined) return;
    documents.push({ loc: { file, document: index, prefix: [] }, value });
  });
  return { documents, errors };
}
