// Interop check for `jetstress mcp-serve` with a client nobody here wrote: the
// official TypeScript SDK (pinned in package.json). Lists the tools, calls a
// few (the SDK validates structuredContent against each outputSchema), checks
// a bad-argument error, and prints one JSON line for the Rust test to judge.
//
//   node interop-client.mjs stdio <jetstress binary> <fixture root>
//   node interop-client.mjs http <url> [token]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [mode, target, extra] = process.argv.slice(2);
let transport;
if (mode === "stdio") {
  transport = new StdioClientTransport({
    command: target,
    args: ["--root", extra, "--interval", "100ms", "mcp-serve"],
    stderr: "ignore",
  });
} else if (mode === "http") {
  const headers = extra ? { Authorization: `Bearer ${extra}` } : {};
  transport = new StreamableHTTPClientTransport(new URL(target), { requestInit: { headers } });
} else {
  console.error("usage: interop-client.mjs stdio BIN ROOT | http URL [TOKEN]");
  process.exit(2);
}

const client = new Client({ name: "jetstress-interop", version: "0.0.0" });
const timer = setTimeout(() => {
  console.error("interop client timed out");
  process.exit(3);
}, 20000);
try {
  await client.connect(transport);
  const { tools } = await client.listTools();
  const out = {
    protocolVersion: transport.protocolVersion ?? null,
    server: client.getServerVersion(),
    tools: tools.map((t) => t.name),
    withOutputSchema: tools.filter((t) => t.outputSchema).map((t) => t.name),
    calls: {},
  };
  for (const [name, args] of [
    ["thermal_status", {}],
    ["board_info", {}],
    ["system_diagnosis", {}],
    ["predict_throttle", {}],
    ["predict_memory", {}],
    ["echo", { message: "from typescript" }],
    ["sleep_ms", { ms: 5 }],
  ]) {
    const r = await client.callTool({ name, arguments: args });
    out.calls[name] = { isError: r.isError ?? false, text: r.content?.[0]?.text ?? null, structured: r.structuredContent ?? null };
  }
  try {
    await client.callTool({ name: "sleep_ms", arguments: { ms: "soon" } });
    out.badArgs = null;
  } catch (e) {
    out.badArgs = { code: e.code ?? null, message: String(e.message) };
  }
  console.log(JSON.stringify(out));
  await client.close();
  clearTimeout(timer);
} catch (e) {
  console.error(`interop failure: ${e.stack ?? e}`);
  process.exit(1);
}
