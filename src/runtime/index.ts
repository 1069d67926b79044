// probegen/runtime: the API generated loaders are written against (see API.md).
export { BpfError, errnoName, explainErrno } from "./errors.js";
export type { BpfErrorInit } from "./errors.js";
export { MapValue, TypedMap, UPDATE_FLAGS } from "./map.js";
export type { Codec, RawMap } from "./map.js";
export { loadObject } from "./object.js";
export type { AttachTarget, LoadedObject, LoadOptions, ObjectDefinition, ProgramInfo } from "./object.js";
export { walkBatch, RINGBUF_BUSY_BIT, RINGBUF_DISCARD_BIT, RINGBUF_HDR_SZ } from "./ring-buffer.js";
export type { EventStream, RecordDecoder } from "./ring-buffer.js";
export { parseLibbpfLog, trimVerifierLog, explainVerifierMessage } from "./verifier-log.js";
export { beginStruct, readBigInts, readBytes, readCString, readInts, writeBigInts, writeBool, writeCString, writeInt, writeInts, zeroBytes } from "./codecs.js";
export type { IntTypeName } from "./values.js";
export { Histogram, histogramCodec } from "./histogram.js";
export type { Bucket, HistogramShape } from "./histogram.js";
export { perCpuCodec, possibleCpus } from "./percpu.js";
export type { PerCpu } from "./percpu.js";
export { checkParam, checkParamNames } from "./params.js";
export { DROPS_MAP, kernelDrops, probeStats } from "./stats.js";
export type { ProbeStats } from "./stats.js";
