/** Program kinds the fuzzer builds but cannot load on this kernel (the VM tests load them). */
import { hostHasFeature, type KernelFeature } from "../vm/vm.js";

export function kindsHostLacks(): Set<string> {
  const kinds: KernelFeature[] = ["kprobe", "kretprobe", "fentry", "fexit", "tp_btf"];
  return new Set(kinds.filter((k) => !hostHasFeature(k)));
}
