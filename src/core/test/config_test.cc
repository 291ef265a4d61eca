#include "mimamori/core/config.h"

#include <gtest/gtest.h>

namespace mimamori::core {
namespace {

TEST(Config, ReadsDottedPathsWithFallbacks) {
  auto c = Config::from_string(
      "stream:\n  depth: 1048576\n  midstream: true\nvars:\n  home: [a, b]\n", "sensor.yaml");
  EXPECT_EQ(c.get<int>("stream.depth", 0), 1048576);
  EXPECT_TRUE(c.get<bool>("stream.midstream", false));
  EXPECT_EQ(c.get<std::string>("missing.key", "dflt"), "dflt");
  EXPECT_EQ(c.get<std::vector<std::string>>("vars.home", {}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.keys("stream"), (std::vector<std::string>{"depth", "midstream"}));
  EXPECT_TRUE(c.has("vars.home"));
  EXPECT_EQ(c.size("vars.home"), 2u);
}

TEST(Config, WrongTypeNamesFileLineAndKey) {
  auto c = Config::from_string("a: 1\nstream:\n  depth: lots\n", "sensor.yaml");
  try {
    (void)c.get<int>("stream.depth", 0);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "sensor.yaml:3:10: key 'stream.depth': expected an integer, got 'lots'");
  }
  EXPECT_THROW((void)c.get<unsigned>("stream", 0), ConfigError);  // a map, not a number
  auto neg = Config::from_string("n: -1\n");
  EXPECT_THROW((void)neg.get<unsigned>("n", 0), ConfigError);
  try {
    (void)c.require<std::string>("server.url");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'server.url' is required"), std::string::npos);
  }
}

TEST(Config, SyntaxErrorNamesLine) {
  try {
    (void)Config::from_string("a: [1, 2\nb: 3\n", "bad.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("bad.yaml:", 0), 0u) << e.what();
  }
  EXPECT_THROW((void)Config::load_file("/nonexistent/mimamori.yaml"), ConfigError);
  EXPECT_THROW((void)Config::from_string("- just\n- a list\n"), ConfigError);
}

TEST(Config, SetOverridesAndCreatesMaps) {
  auto c = Config::from_string("stream:\n  depth: 10\n");
  c.set("stream.depth=20");
  c.set("new.deep.key=yes");
  EXPECT_EQ(c.get<int>("stream.depth", 0), 20);
  EXPECT_TRUE(c.get<bool>("new.deep.key", false));
  c.set("stream.depth=abc");
  try {
    (void)c.get<int>("stream.depth", 0);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--set stream.depth"), std::string::npos) << e.what();
  }
  EXPECT_THROW(c.set("novalue"), ConfigError);
}

}  // namespace
}  // namespace mimamori::core
