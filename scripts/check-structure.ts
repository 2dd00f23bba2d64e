/**
 * The layout rules the code is held to (`npm run lint` runs this after biome):
 * - no import circle in src/ or emulator/, type-only imports included;
 * - no file in src/ or emulator/ over 450 lines (the emulator's data folder aside);
 * - no script over 500 lines, and scripts/ at most 0.7 times the lines of src/.
 * Prints what breaks a rule and exits 1; prints one summary line when all hold.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import ts from 'typescript'

const ROOT = resolve(import.meta.dirname, '..')
const MAX_LINES = 450
const MAX_SCRIPT_LINES = 500
const SCRIPTS_TO_SRC = 0.7
const DATA_FOLDERS = ['emulator/data/']

const sourceFiles = (dir: string): string[] =>
  readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(join(ROOT, path)).isDirectory()) return sourceFiles(path)
    return /\.(ts|js)$/.test(name) && !name.endsWith('.d.ts') ? [path] : []
  })

const lineCount = (path: string) => readFileSync(join(ROOT, path), 'utf8').split('\n').length - 1

/** Every relative module a file imports or re-exports, `import type` and `import('...')` types included. */
function importsOf(path: string): string[] {
  const text = readFileSync(join(ROOT, path), 'utf8')
  const found: string[] = []
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text)
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const literal = node.argument.literal
      if (ts.isStringLiteral(literal)) found.push(literal.text)
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments
      if (arg && ts.isStringLiteral(arg)) found.push(arg.text)
    }
    ts.forEachChild(node, visit)
  }
  visit(ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true))
  return found.filter((spec) => spec.startsWith('.')).flatMap((spec) => resolveModule(path, spec) ?? [])
}

function resolveModule(from: string, spec: string): string | undefined {
  const base = join(dirname(from), spec)
  for (const candidate of [base, `${base}.ts`, `${base}.js`, join(base, 'index.ts')]) {
    try {
      if (statSync(join(ROOT, candidate)).isFile()) return candidate
    } catch {}
  }
  return undefined
}

/** Import circles among the files (Tarjan's strongly connected components of two files or more). */
function circles(files: string[]): string[][] {
  const graph = new Map(files.map((file) => [file, importsOf(file)]))
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  let next = 0
  const connect = (file: string) => {
    index.set(file, next)
    low.set(file, next++)
    stack.push(file)
    onStack.add(file)
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue
      if (!index.has(target)) {
        connect(target)
        low.set(file, Math.min(low.get(file) ?? 0, low.get(target) ?? 0))
      } else if (onStack.has(target)) low.set(file, Math.min(low.get(file) ?? 0, index.get(target) ?? 0))
    }
    if (low.get(file) !== index.get(file)) return
    const component: string[] = []
    for (let member = stack.pop(); member !== undefined; member = stack.pop()) {
      onStack.delete(member)
      component.push(member)
      if (member === file) break
    }
    if (component.length > 1) found.push(component.sort())
  }
  for (const file of files) if (!index.has(file)) connect(file)
  return found
}

const problems: string[] = []
const product = [...sourceFiles('src'), ...sourceFiles('emulator')]
for (const circle of circles(product)) problems.push(`import circle: ${circle.join(' <-> ')}`)
for (const file of product) {
  if (DATA_FOLDERS.some((folder) => file.startsWith(folder))) continue
  const lines = lineCount(file)
  if (lines > MAX_LINES) problems.push(`${file}: ${lines} lines (at most ${MAX_LINES})`)
}
const scripts = sourceFiles('scripts')
for (const file of scripts) {
  const lines = lineCount(file)
  if (lines > MAX_SCRIPT_LINES) problems.push(`${file}: ${lines} lines (a script has at most ${MAX_SCRIPT_LINES})`)
}
const srcLines = sourceFiles('src').reduce((sum, file) => sum + lineCount(file), 0)
const scriptLines = scripts.reduce((sum, file) => sum + lineCount(file), 0)
if (scriptLines > SCRIPTS_TO_SRC * srcLines)
  problems.push(`scripts/ has ${scriptLines} lines, over ${SCRIPTS_TO_SRC} x src/'s ${srcLines}`)

for (const problem of problems) console.error(problem)
console.log(
  `structure: ${product.length} files in src/ and emulator/, scripts/ ${scriptLines} lines against src/ ${srcLines} ` +
    `(${(scriptLines / srcLines).toFixed(2)}x); ${problems.length} problem(s)`,
)
process.exitCode = problems.length > 0 ? 1 : 0
