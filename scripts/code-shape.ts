/**
 * `npm run code:shape`: facts about the structure of src/, measured from the code itself.
 *   - the longest functions (lines from the declaration to its closing brace);
 *   - every import of src/domain/ that leaves src/domain/ (there should be none but libraries);
 *   - the files that name each provider, outside its own folder and its GraphQL module.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { PROVIDER_REGISTRY } from '../src/providers/index.js';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'migrations' ? [] : filesUnder(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const files = filesUnder(SRC);
const rel = (path: string) => relative(ROOT, path);

/** Every function-like node with its line span. */
function functionLengths(path: string): { name: string; lines: number; at: string }[] {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, true);
  const found: { name: string; lines: number; at: string }[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const named = (node as { name?: ts.Node }).name;
      const name = named ? named.getText(source) : ts.isArrowFunction(node) ? '(arrow)' : '(anonymous)';
      found.push({ name, lines: end - start + 1, at: `${rel(path)}:${start + 1}` });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const longest = files
  .flatMap(functionLengths)
  .sort((a, b) => b.lines - a.lines)
  .slice(0, 8);
console.log('Longest functions in src/ (lines, declaration to closing brace):');
for (const fn of longest) console.log(`  ${String(fn.lines).padStart(4)}  ${fn.name}  ${fn.at}`);

console.log('\nImports of src/domain/ that leave src/domain/ (libraries and node: builtins excluded):');
let outward = 0;
for (const path of files.filter((file) => file.startsWith(join(SRC, 'domain')))) {
  for (const [, target] of readFileSync(path, 'utf8').matchAll(/from '([^']+)'/g)) {
    if (!target!.startsWith('.')) continue;
    const resolved = resolve(path, '..', target!);
    if (!resolved.startsWith(join(SRC, 'domain'))) {
      outward++;
      console.log(`  ${rel(path)} -> ${target}`);
    }
  }
}
if (outward === 0) console.log('  none');

console.log('\nFiles of src/ naming each provider, outside its own folder and its GraphQL module:');
for (const definition of PROVIDER_REGISTRY) {
  const folder = definition.name.toLowerCase();
  const words = [definition.name, definition.label, definition.typename, folder].map((word) => word.toLowerCase());
  const naming = files.filter((path) => {
    if (path.startsWith(join(SRC, 'providers', folder))) return false;
    const source = readFileSync(path, 'utf8');
    // Its GraphQL module is the one that declares its checkout node.
    if (source.includes(`defineCheckoutNode('${definition.name}')`)) return false;
    const text = source.toLowerCase();
    return words.some((word) => new RegExp(`\\b${word}\\b`).test(text));
  });
  console.log(`  ${definition.name} (${naming.length}): ${naming.map(rel).join(', ')}`);
}
