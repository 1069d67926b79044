/** A script for `node -e` that sends datagrams (and TCP streams) where its arguments say, then exits. */
export const SEND_SCRIPT = `
const dgram = require("node:dgram"), net = require("node:net");
const [host, plan] = [process.argv[1], JSON.parse(process.argv[2])];
(async () => {
  const udp = dgram.createSocket("udp4");
  for (const { port, count } of plan.udp ?? []) {
    for (let i = 0; i < count; i++) await new Promise((ok, fail) => udp.send("probegen", port, host, (e) => (e ? fail(e) : ok())));
  }
  udp.close();
  for (const { port } of plan.tcp ?? []) {
    await new Promise((ok) => { const s = net.connect(port, host); s.on("error", ok); s.on("close", ok); s.on("connect", () => s.end("probegen")); });
  }
})();
`;

/** What `SEND_SCRIPT` sends: UDP datagrams per port, TCP connections (refused or not) per port. */
export interface SendPlan {
  udp?: Array<{ port: number; count: number }>;
  tcp?: Array<{ port: number }>;
}
