/**
 * Kernel function prototypes from the running kernel's BTF, read through
 * `bpftool btf dump file /sys/kernel/btf/vmlinux` (text). Only what `list` needs: function names
 * and each function's parameters and return type as C spells them.
 * TODO: use src/kernel/btf/ once its reader lands, and drop the bpftool dependency here.
 */
import { execa } from "execa";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";

interface Node {
  kind: string;
  name: string;
  type?: number;
  nelems?: number;
  params?: Array<{ name: string; type: number }>;
}

export interface FunctionProto {
  name: string;
  linkage: string;
  returnType: string;
  params: Array<{ name: string; cType: string; pointer: boolean; charPointer: boolean; size?: number; signed?: boolean }>;
}

const VMLINUX = "/sys/kernel/btf/vmlinux";

export class KernelBtf {
  private constructor(private readonly nodes: Map<number, Node>, private readonly funcs: Map<string, { id: number; linkage: string }>) {}

  static async read(): Promise<KernelBtf> {
    let stdout: string;
    try {
      ({ stdout } = await execa("bpftool", ["btf", "dump", "file", VMLINUX], { stdin: "ignore", maxBuffer: 1 << 30 }));
    } catch (e) {
      const err = e as { code?: string; stderr?: string };
      throw new CliError(
        err.code === "ENOENT" ? "bpftool is not installed; it is needed to read the kernel's BTF" : `cannot read ${VMLINUX}: ${(err.stderr ?? String(e)).trim()}`,
        ExitCode.Kernel, err.code === "ENOENT" ? "apt-get install -y bpftool" : "the kernel needs CONFIG_DEBUG_INFO_BTF=y");
    }
    const nodes = new Map<number, Node>();
    const funcs = new Map<string, { id: number; linkage: string }>();
    let current: Node | undefined;
    const head = /^\[(\d+)\] (\w+) '([^']*)'(.*)$/;
    const param = /^\s+'([^']*)' type_id=(\d+)/;
    for (const line of stdout.split("\n")) {
      const m = head.exec(line);
      if (m) {
        const [, id, kind, name, rest] = m;
        const attrs = Object.fromEntries([...rest!.matchAll(/(\w+)=(\S+)/g)].map((a) => [a[1], a[2]]));
        current = { kind: kind!, name: name! };
        if (attrs.type_id !== undefined) current.type = Number(attrs.type_id);
        if (attrs.ret_type_id !== undefined) current.type = Number(attrs.ret_type_id);
        if (attrs.nr_elems !== undefined) current.nelems = Number(attrs.nr_elems);
        if (kind === "INT") (current as Node & { size?: number }).nelems = Number(attrs.size);
        if (kind === "INT") current.type = /SIGNED/.test(attrs.encoding ?? "") ? 1 : 0;
        if (kind === "FUNC_PROTO") current.params = [];
        nodes.set(Number(id), current);
        if (kind === "FUNC" && !funcs.has(name!)) funcs.set(name!, { id: Number(id), linkage: attrs.linkage ?? "" });
        continue;
      }
      const p = current?.kind === "FUNC_PROTO" ? param.exec(line) : null;
      if (p) current!.params!.push({ name: p[1]!, type: Number(p[2]) });
    }
    return new KernelBtf(nodes, funcs);
  }

  functionNames(): string[] {
    return [...this.funcs.keys()];
  }

  proto(name: string): FunctionProto | undefined {
    const f = this.funcs.get(name);
    const fn = f && this.nodes.get(f.id);
    const proto = fn?.type !== undefined ? this.nodes.get(fn.type) : undefined;
    if (!f || !proto?.params) return undefined;
    return {
      name,
      linkage: f.linkage,
      returnType: this.cName(proto.type ?? 0),
      params: proto.params.map((p) => {
        const target = this.strip(p.type);
        const pointee = target?.kind === "PTR" ? this.strip(target.type ?? 0) : undefined;
        return {
          name: p.name,
          cType: this.cName(p.type),
          pointer: target?.kind === "PTR",
          charPointer: pointee?.kind === "INT" && /char/.test(pointee.name),
          size: target?.kind === "INT" ? target.nelems : target?.kind === "ENUM" ? 4 : undefined,
          signed: target?.kind === "INT" ? target.type === 1 : undefined,
        };
      }),
    };
  }

  /** Follows typedefs and qualifiers to the underlying type. */
  private strip(id: number): Node | undefined {
    let n = this.nodes.get(id);
    for (let i = 0; n && i < 20 && ["TYPEDEF", "CONST", "VOLATILE", "RESTRICT", "TYPE_TAG"].includes(n.kind); i++) n = this.nodes.get(n.type ?? 0);
    return n;
  }

  private cName(id: number, depth = 0): string {
    if (id === 0) return "void";
    const n = this.nodes.get(id);
    if (!n || depth > 20) return "?";
    switch (n.kind) {
      case "INT": case "FLOAT": case "TYPEDEF": return n.name;
      case "STRUCT": return `struct ${n.name}`;
      case "UNION": return `union ${n.name}`;
      case "ENUM": case "ENUM64": return `enum ${n.name}`;
      case "FWD": return `struct ${n.name}`;
      case "PTR": {
        const inner = this.cName(n.type ?? 0, depth + 1);
        return inner.endsWith("*") ? `${inner}*` : `${inner} *`;
      }
      case "CONST": return `const ${this.cName(n.type ?? 0, depth + 1)}`;
      case "VOLATILE": return `volatile ${this.cName(n.type ?? 0, depth + 1)}`;
      case "RESTRICT": case "TYPE_TAG": return this.cName(n.type ?? 0, depth + 1);
      case "ARRAY": return `${this.cName(n.type ?? 0, depth + 1)}[${n.nelems ?? ""}]`;
      case "FUNC_PROTO": return "function pointer";
      default: return n.name || n.kind.toLowerCase();
    }
  }
}
