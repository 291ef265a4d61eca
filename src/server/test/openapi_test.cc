// The OpenAPI document served at /api/v1/openapi.json describes exactly the route table.

#include <gtest/gtest.h>

#include <set>

#include "api/api.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

TEST(OpenApi, DocumentMatchesTheRouteTable) {
  std::string why;
  auto ts = TestServer::start(fresh_store_url("sqlite", &why));
  ASSERT_TRUE(ts);
  auto r = Client(ts->base).get("/api/v1/openapi.json");
  ASSERT_EQ(r.status, 200);
  auto doc = r.json();
  ASSERT_TRUE(doc.is_object()) << "not JSON";
  EXPECT_TRUE(std::string(doc.at("openapi").as_string()).starts_with("3."));
  const auto& paths = doc.at("paths").as_object();
  std::set<std::pair<std::string, std::string>> documented, routed;
  for (const auto& [path, item] : paths) {
    for (const auto& [method, op] : item.as_object()) {
      std::string m(method);
      for (auto& c : m) c = static_cast<char>(std::toupper(c));
      documented.insert({std::string(path), m});
      // Every path parameter of the pattern is declared.
      std::string p(path);
      std::set<std::string> declared;
      if (auto* params = op.as_object().if_contains("parameters")) {
        for (const auto& prm : params->as_array()) {
          if (prm.at("in") == "path") declared.insert(std::string(prm.at("name").as_string()));
        }
      }
      for (size_t open = p.find('{'); open != std::string::npos; open = p.find('{', open + 1)) {
        std::string name = p.substr(open + 1, p.find('}', open) - open - 1);
        EXPECT_TRUE(declared.count(name)) << m << " " << p << " lacks " << name;
      }
      EXPECT_FALSE(op.at("responses").as_object().empty()) << m << " " << p;
      EXPECT_TRUE(op.as_object().contains("security")) << m << " " << p;
    }
  }
  for (const auto& route : Api::routes()) {
    routed.insert({std::string(route.pattern), std::string(route.method)});
    auto* item = paths.if_contains(route.pattern);
    ASSERT_TRUE(item) << route.pattern << " is not documented";
    std::string m(route.method);
    for (auto& c : m) c = static_cast<char>(std::tolower(c));
    const auto& op = item->at(m).as_object();
    // Who may call it is documented too.
    const auto& sec = op.at("security").as_array();
    if (route.auth == Auth::kNone) {
      EXPECT_TRUE(sec.empty()) << route.pattern;
    } else {
      EXPECT_FALSE(sec.empty()) << route.pattern;
    }
  }
  EXPECT_EQ(documented, routed);
}

}  // namespace
}  // namespace mimamori::server::testing
