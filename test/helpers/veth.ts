/**
 * A private network namespace joined to this one by a veth pair, for network program tests:
 * the outer end stays here (where this process attaches), the inner end lives in the namespace
 * (where a child sends from). IPv6 is off on both ends so that no autoconfiguration traffic
 * (router solicitations, MLD) adds packets the test did not send.
 */
import { execFileSync, spawnSync } from "node:child_process";

export interface Veth {
  /** The namespace's name. */
  netns: string;
  /** The end in this namespace, and its IPv4 address. */
  outer: string;
  outerAddr: string;
  /** The end in the namespace, and its address. */
  inner: string;
  innerAddr: string;
  /** Runs a command inside the namespace; returns its stdout. */
  exec(command: string, args: string[], input?: string): string;
  /** The outer end's packet counters, from `ip -s link` (the kernel's). */
  counters(): { rxPackets: number; txPackets: number };
  remove(): void;
}

function ip(...args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Why veth tests cannot run here, or undefined when they can (root, ip(8), netns support). */
export function vethProblem(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root to create a network namespace";
  const r = spawnSync("ip", ["netns", "list"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return `ip netns does not work here: ${r.error?.message ?? r.stderr.trim()}`;
  return undefined;
}

/** `tag` keeps names apart between test files (at most 6 characters: interface names have 15). */
export function createVeth(tag: string, subnet: number): Veth {
  const id = `${tag}${process.pid % 100000}`;
  const v = {
    netns: `pg-${id}`,
    outer: `${id}o`,
    inner: `${id}i`,
    outerAddr: `10.${subnet}.${process.pid % 250}.1`,
    innerAddr: `10.${subnet}.${process.pid % 250}.2`,
  };
  const remove = () => {
    spawnSync("ip", ["link", "del", v.outer], { stdio: "ignore" }); // takes its peer with it
    spawnSync("ip", ["netns", "del", v.netns], { stdio: "ignore" });
  };
  remove(); // left over from a killed run with this pid
  try {
    ip("netns", "add", v.netns);
    ip("link", "add", v.outer, "type", "veth", "peer", "name", v.inner);
    ip("link", "set", v.inner, "netns", v.netns);
    const inNs = (...args: string[]) => ip("-n", v.netns, ...args);
    execFileSync("sysctl", ["-qw", `net.ipv6.conf.${v.outer}.disable_ipv6=1`]);
    execFileSync("ip", ["netns", "exec", v.netns, "sysctl", "-qw", `net.ipv6.conf.${v.inner}.disable_ipv6=1`]);
    ip("addr", "add", `${v.outerAddr}/30`, "dev", v.outer);
    inNs("addr", "add", `${v.innerAddr}/30`, "dev", v.inner);
    ip("link", "set", v.outer, "up");
    inNs("link", "set", v.inner, "up");
    inNs("link", "set", "lo", "up");
  } catch (e) {
    remove();
    throw e;
  }
  return {
    ...v,
    exec: (command, args, input) => execFileSync("ip", ["netns", "exec", v.netns, command, ...args], { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] }),
    counters() {
      const stats = JSON.parse(ip("-s", "-j", "link", "show", v.outer))[0].stats64;
      return { rxPackets: stats.rx.packets, txPackets: stats.tx.packets };
    },
    remove,
  };
}
