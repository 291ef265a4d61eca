// The control socket: a command line in, the handler's answer line out; the socket goes away
// with the server; a client without a server gets an error naming the socket.

#include "mimamori/net/rules/control_socket.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace mimamori::net::rules {
namespace {

namespace fs = std::filesystem;

TEST(ControlSocket, AnswersEachCommandAndRemovesTheSocket) {
  char tmpl[] = "/tmp/mimamori-control-XXXXXX";
  fs::path dir = ::mkdtemp(tmpl);
  std::string path = (dir / "control.sock").string();
  {
    ControlServer server(path, [](std::string_view cmd) {
      return cmd == "reload-rules" ? std::string("ok: 3 rules in force")
                                   : "error: unknown command '" + std::string(cmd) + "'";
    });
    EXPECT_TRUE(fs::exists(path));
    auto ok = send_control(path, "reload-rules");
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    EXPECT_EQ(*ok, "ok: 3 rules in force\n");
    auto unknown = send_control(path, "dance");
    ASSERT_TRUE(unknown.ok());
    EXPECT_EQ(*unknown, "error: unknown command 'dance'\n");
  }
  EXPECT_FALSE(fs::exists(path));
  auto none = send_control(path, "reload-rules");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find(path), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mimamori::net::rules
