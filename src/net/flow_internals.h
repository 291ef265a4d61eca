#pragma once
// Pipeline-private per-flow state: TCP reassembly of both directions and the app-layer parser.

namespace mimamori::net {

struct FlowInternals {
  virtual ~FlowInternals() = default;
};

}  // namespace mimamori::net
