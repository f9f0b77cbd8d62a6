// Compiles a TypeScript tool to an ES module, inside the tool sandbox (process.py
// runs it like a tool, with the pinned TypeScript compiler mounted at
// /node_modules and no network). Types are erased (transpileModule), nothing is
// type-checked; syntax errors are reported with their line. The tool's function
// is exported if the source did not export it, so the runner can call it.
import ts from "typescript";

function hasExport(node) {
  return (ts.getModifiers?.(node) || node.modifiers || []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
}

export function compile(source, name) {
  const out = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, inlineSourceMap: true,
                       esModuleInterop: true, isolatedModules: true },
    fileName: "tool.ts",
    reportDiagnostics: true,
  });
  const problems = (out.diagnostics || []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  const file = ts.createSourceFile("tool.ts", source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  if (problems.length) {
    const d = problems[0];
    const { line, character } = file.getLineAndCharacterOfPosition(d.start || 0);
    const text = ts.flattenDiagnosticMessageText(d.messageText, " ");
    throw new SyntaxError(`line ${line + 1}, column ${character + 1}: ${text}`);
  }
  let found = false;
  let exported = false;
  for (const statement of file.statements) {
    if (ts.isFunctionDeclaration(statement) && statement.name?.text === name) {
      found = true;
      exported ||= hasExport(statement);
    } else if (ts.isVariableStatement(statement)) {
      for (const decl of statement.declarationList.declarations) {
        if (ts.isIdentifier(decl.name) && decl.name.text === name) {
          found = true;
          exported ||= hasExport(statement);
        }
      }
    } else if (ts.isExportDeclaration(statement) && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
      for (const element of statement.exportClause.elements) {
        if (element.name.text === name) {
          found = true;
          exported = true;
        }
      }
    }
  }
  if (!found) {
    throw new ReferenceError(`the source defines no top-level function named '${name}'`);
  }
  let js = out.outputText;
  if (!exported) js += `\nexport { ${name} };\n`;
  return { js, typescript: ts.version };
}
