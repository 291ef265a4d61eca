// The OpenAPI document, compiled in from openapi.json (checked against the route table by
// test/openapi_test.cc).

#include "api/api.h"

namespace mimamori::server {

extern const char kOpenApiJson[];

std::string_view openapi_document() { return kOpenApiJson; }

}  // namespace mimamori::server
