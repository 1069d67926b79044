// `probegen/runtime`: the import of loaders generated before the runtime became its own package.
// It is @probegen/runtime itself, so old and new loaders in one app share one runtime.
export * from "@probegen/runtime";
