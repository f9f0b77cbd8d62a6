// The child side of the sandbox for TypeScript tools: runs one call, then exits.
//
// The server never runs this file itself. It starts, inside the same bubblewrap
// sandbox as Python tools, `prlimit <limits> -- node --input-type=module -e
// <this file> <result fd> <limits json> [<ready fd>]` (see process.py): the
// resource limits are set by prlimit before Node starts. Nothing here may import
// anything but Node's own modules.
//
// Protocol (the same as runner.py):
//   1. Say "ready" on the ready fd when there is one (the server then connects
//      the sandbox's network), read the payload, one JSON object, from stdin to
//      EOF: {"module", "function", "arguments", "env", "tool_file"}. `module` is
//      the tool compiled to JavaScript (an ES module exporting the function),
//      `arguments` the positional arguments. An empty stdin means "not needed":
//      exit at once.
//   2. Add `env` to process.env, write the module into the sandbox's tmpfs,
//      import it, call the function, await it when it returns a promise.
//   3. Write {"status": "success", "func_return": ...} or {"status": "error",
//      "error": {"type", "message", "traceback"}} as JSON on the result fd, never
//      on stdout, which belongs to the tool.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const resultFd = Number(process.argv[1]);
const limits = JSON.parse(process.argv[2]);
if (process.argv.length > 3) {
  const readyFd = Number(process.argv[3]);
  fs.writeSync(readyFd, "1");
  fs.closeSync(readyFd);
}

function readAll(fd) {
  const chunks = [];
  const buffer = Buffer.alloc(65536);
  for (;;) {
    let n;
    try {
      n = fs.readSync(fd, buffer, 0, buffer.length, null);
    } catch (err) {
      if (err.code === "EAGAIN") continue;
      if (err.code === "EOF") break;
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buffer.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

function writeResult(result) {
  let text;
  try {
    text = JSON.stringify(result);
  } catch (err) {
    text = JSON.stringify({ status: "error", error: { type: "TypeError", message: String(err), traceback: "" } });
  }
  const data = Buffer.from(text, "utf8");
  let offset = 0;
  while (offset < data.length) offset += fs.writeSync(resultFd, data, offset, data.length - offset);
  fs.closeSync(resultFd);
}

function encodeReturn(value, cap) {
  if (value === undefined) value = null;
  let text;
  try {
    text = JSON.stringify(value);
    if (text === undefined) throw new TypeError("not JSON");
    JSON.parse(text);
  } catch {
    try {
      value = String(value);
    } catch (err) {
      value = `<unprintable: ${err}>`;
    }
    text = JSON.stringify(value);
  }
  if (text.length > cap) {
    const note = `\n[... return value truncated: ${text.length} characters, the limit is ${cap}]`;
    return { status: "success", func_return: (typeof value === "string" ? value : text).slice(0, cap) + note,
             truncated: true };
  }
  return { status: "success", func_return: JSON.parse(text) };
}

function errorResult(err, toolDir, toolName) {
  let type = "Error";
  let message = "";
  let stack = "";
  if (err instanceof Error) {
    type = err.name || err.constructor?.name || "Error";
    message = err.message;
    stack = String(err.stack || "");
  } else {
    type = "Error";
    try {
      message = `the tool threw a non-Error value: ${JSON.stringify(err) ?? String(err)}`;
    } catch {
      message = "the tool threw a non-Error value";
    }
  }
  if (err instanceof RangeError && /call stack/i.test(message)) type = "RecursionError";
  // Keep the tool's own frames (mapped to the TypeScript source), written as
  // Python's are: `File "<tool f>", line 3, in f`. The runner's are noise.
  const frames = [];
  for (const line of stack.split("\n")) {
    if (!line.includes(toolDir)) continue;
    const m = /at (?:(?:async )?(\S+) \()?\S*?:(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (m) frames.push(`  File "<tool ${toolName}>", line ${m[2]}, in ${m[1] || "<module>"}`);
  }
  const traceback = (frames.length ? "Traceback (most recent call last):\n" + frames.slice(0, 12).reverse().join("\n") + "\n" : "")
    + `${type}: ${message}`;
  return { status: "error", error: { type, message, traceback } };
}

async function main() {
  const raw = readAll(0);
  if (raw.length === 0) process.exit(0);
  const payload = JSON.parse(raw.toString("utf8"));
  delete process.env.PWD;
  Object.assign(process.env, payload.env || {});
  const dir = fs.mkdtempSync(path.join("/tmp", ".mnemo-tool-"));
  const file = path.join(dir, "tool.mjs");
  fs.writeFileSync(file, payload.module);
  const toolUrl = pathToFileURL(file).href;
  const toolName = payload.function;
  let result;
  try {
    let module;
    try {
      module = await import(toolUrl);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const fn = module[payload.function];
    if (typeof fn !== "function") {
      throw new ReferenceError(`the source defines no function named '${payload.function}'`);
    }
    let value = fn(...(payload.arguments || []));
    if (value && typeof value.then === "function") value = await value;
    result = encodeReturn(value, Number(limits.return_chars || 1 << 20));
  } catch (err) {
    result = errorResult(err, dir, toolName);
  }
  writeResult(result);
  // Exit now: timers or sockets the tool left open must not keep the process alive.
  process.exit(0);
}

main().catch((err) => {
  try {
    writeResult(errorResult(err, "\0", ""));
  } finally {
    process.exit(0);
  }
});
