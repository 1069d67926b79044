/**
 * C declarators from BTF: the inside-out spelling C needs for pointers to arrays and functions
 * ("int (*handler)(void *)", "char comm[16]", "char *const p"). Used for messages and by the
 * header emitter, which passes `tagOf` to print anonymous structs inline and renamed types.
 */
import type { Btf } from "./btf.js";

export interface SpellOptions {
  /** The tag/name to print for a named type; anonymous struct/union/enum bodies come from here too. */
  nameOf?: (id: number) => string | undefined;
}

export function declaration(btf: Btf, id: number, inner: string, options: SpellOptions = {}): string {
  const t = btf.type(id);
  // An unnamed array type reads "char[16]"; everything else takes a space before the declarator.
  const join = (base: string) => (inner === "" ? base : inner.startsWith("[") ? base + inner : `${base} ${inner}`);
  switch (t.kind) {
    case "void": return join("void");
    case "int": case "float": case "typedef": return join(options.nameOf?.(id) ?? (t.name || `<anon ${t.kind}>`));
    case "struct": case "union": case "enum": case "enum64":
      return join(options.nameOf?.(id) ?? `${t.kind === "enum64" ? "enum" : t.kind} ${t.name || "{...}"}`);
    case "fwd": return join(options.nameOf?.(id) ?? `${t.union ? "union" : "struct"} ${t.name}`);
    case "ptr": {
      const target = btf.kindName(btf.skipQualifiers(t.type));
      // A pointer to an array or function binds tighter than the declarator around it.
      const ptr = target === "array" || target === "func_proto" ? `(*${inner})` : `*${inner}`;
      return declaration(btf, t.type, ptr, options);
    }
    case "const": case "volatile": case "restrict": {
      // Qualifiers of a pointer follow its star ("char *const"); of anything else, lead it.
      if (btf.kindName(t.type) === "ptr") return declaration(btf, t.type, inner === "" ? t.kind : `${t.kind} ${inner}`, options);
      return `${t.kind} ${declaration(btf, t.type, inner, options)}`;
    }
    case "type_tag": return declaration(btf, t.type, inner, options); // tags have no C spelling
    case "array": return declaration(btf, t.type, `${inner}[${t.nelems}]`, options);
    case "func_proto": {
      const params = t.params.map((p) => declaration(btf, p.type, p.name, options));
      if (t.variadic) params.push("...");
      return declaration(btf, t.returnType, `${inner}(${params.length ? params.join(", ") : "void"})`, options);
    }
    case "func": return declaration(btf, t.type, t.name, options);
    case "var": return declaration(btf, t.type, t.name, options);
    case "datasec": return `SEC("${t.name}")`;
    case "decl_tag": return `__attribute__((btf_decl_tag("${t.name}")))`;
  }
}
