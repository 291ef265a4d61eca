// The SSH parser on both sides' banners, and the record it writes.

#include <gtest/gtest.h>

#include <string>

#include "app/app.h"
#include "app_sink.h"

namespace mimamori::net {
namespace {

using apptest::RecordingSink;

TEST(SshParser, BannersOfBothSides) {
  auto parser = make_ssh_parser();
  RecordingSink sink(parser.get(), {Buffer::kSshProto, Buffer::kSshSoftware});
  bool give_up = true;
  EXPECT_EQ(detect_tcp_proto(Direction::kToServer, "SSH-2.0-x\r\n", give_up), AppProto::kSsh);
  parser->parse(Direction::kToServer, "SSH-2.0-OpenSSH_8.4p1 Debian-5\r\n", sink);
  // A server may send lines before its banner.
  parser->parse(Direction::kToClient, "hello there\r\nSSH-1.99-Cisco-1.25\r\n", sink);
  ASSERT_EQ(sink.progress_.size(), 2u);
  EXPECT_EQ(sink.buffers_[0][Buffer::kSshProto], "2.0");
  EXPECT_EQ(sink.buffers_[0][Buffer::kSshSoftware], "OpenSSH_8.4p1");
  EXPECT_EQ(sink.buffers_[1][Buffer::kSshProto], "1.99");
  EXPECT_EQ(sink.buffers_[1][Buffer::kSshSoftware], "Cisco-1.25");
  ASSERT_EQ(sink.records_.size(), 1u);
  EXPECT_EQ(sink.records_[0].json,
            "\"ssh\":{\"client\":{\"proto_version\":\"2.0\",\"software_version\":"
            "\"OpenSSH_8.4p1\"},\"server\":{\"proto_version\":\"1.99\",\"software_version\":"
            "\"Cisco-1.25\"}}");
}

}  // namespace
}  // namespace mimamori::net
