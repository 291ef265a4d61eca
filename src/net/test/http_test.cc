// The HTTP parser on crafted bytes: request head normalisation, a chunked and gzip-encoded
// response body, and the transaction record.

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <string>

#include "app/app.h"
#include "app_sink.h"

namespace mimamori::net {
namespace {

using apptest::buffer_at;
using apptest::RecordingSink;

std::string gzip(std::string_view text) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(text.size() + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string hex(std::size_t n) {
  char b[32];
  std::snprintf(b, sizeof b, "%zx", n);
  return b;
}

const std::vector<Buffer> kBuffers = {Buffer::kHttpUri,          Buffer::kHttpUriRaw,
                                      Buffer::kHttpHost,         Buffer::kHttpMethod,
                                      Buffer::kHttpUserAgent,    Buffer::kHttpStatCode,
                                      Buffer::kHttpResponseBody, Buffer::kHttpContentType};

TEST(HttpParser, RequestHeadIsNormalised) {
  AppLimits limits;
  auto parser = make_http_parser(limits);
  RecordingSink sink(parser.get(), kBuffers);
  parser->parse(Direction::kToServer,
                "GET /a/../b%20c?x=1 HTTP/1.1\r\nHost: Example.COM:8080\r\n"
                "User-Agent: unit\r\n\r\n",
                sink);
  ASSERT_FALSE(sink.progress_.empty());
  EXPECT_EQ(sink.progress_[0], AppProgress::kHttpRequestHeaders);
  EXPECT_EQ(buffer_at(sink, AppProgress::kHttpRequestHeaders, Buffer::kHttpMethod), "GET");
  EXPECT_EQ(buffer_at(sink, AppProgress::kHttpRequestHeaders, Buffer::kHttpUriRaw),
            "/a/../b%20c?x=1");
  EXPECT_EQ(buffer_at(sink, AppProgress::kHttpRequestHeaders, Buffer::kHttpUri), "/b c?x=1");
  EXPECT_EQ(buffer_at(sink, AppProgress::kHttpRequestHeaders, Buffer::kHttpHost), "example.com");
  EXPECT_EQ(buffer_at(sink, AppProgress::kHttpRequestHeaders, Buffer::kHttpUserAgent), "unit");
  EXPECT_TRUE(sink.records_.empty());  // logged once the response is complete
}

TEST(HttpParser, ChunkedGzipResponseBodyIsDecoded) {
  AppLimits limits;
  auto parser = make_http_parser(limits);
  RecordingSink sink(parser.get(), kBuffers);
  const std::string body = "hello, chunked and compressed world\n";
  const std::string z = gzip(body);
  const std::size_t cut = z.size() / 2;
  std::string resp =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n";
  resp += hex(cut) + "\r\n" + z.substr(0, cut) + "\r\n";
  resp += hex(z.size() - cut) + ";ext=1\r\n" + z.substr(cut) + "\r\n";
  resp += "0\r\n\r\n";
  parser->parse(Direction::kToServer, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", sink);
  // The response arrives in small pieces, as segments would bring it.
  for (std::size_t i = 0; i < resp.size(); i += 7)
    parser->parse(Direction::kToClient, std::string_view(resp).substr(i, 7), sink);

  EXPECT_EQ(buffer_at(sink, AppProgress::kHttpResponseHeaders, Buffer::kHttpStatCode), "200");
  EXPECT_EQ(buffer_at(sink, AppProgress::kHttpResponseBody, Buffer::kHttpResponseBody), body);
  ASSERT_EQ(sink.records_.size(), 1u);
  const std::string& j = sink.records_[0].json;
  EXPECT_EQ(sink.records_[0].type, "http");
  EXPECT_NE(j.find("\"hostname\":\"h\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"url\":\"/x\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"http_content_type\":\"text/plain\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"status\":200"), std::string::npos) << j;
  EXPECT_TRUE(sink.anomalies_.empty());
}

TEST(HttpParser, PipelinedTransactionsKeepTheirOrder) {
  AppLimits limits;
  auto parser = make_http_parser(limits);
  RecordingSink sink(parser.get(), kBuffers);
  parser->parse(Direction::kToServer,
                "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: b\r\n\r\n", sink);
  parser->parse(Direction::kToClient,
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
                sink);
  ASSERT_EQ(sink.records_.size(), 2u);
  EXPECT_NE(sink.records_[0].json.find("\"url\":\"/1\""), std::string::npos);
  EXPECT_NE(sink.records_[0].json.find("\"status\":200"), std::string::npos);
  EXPECT_NE(sink.records_[1].json.find("\"url\":\"/2\""), std::string::npos);
  EXPECT_NE(sink.records_[1].json.find("\"status\":404"), std::string::npos);
}

TEST(HttpParser, XffAddressTakesTheConfiguredEntry) {
  std::string_view text;
  auto last = xff_address("10.0.0.1, 192.0.2.7:8080", true, text);
  ASSERT_TRUE(last);
  EXPECT_EQ(text, "192.0.2.7");
  auto first = xff_address("[2001:db8::1]:443, 10.0.0.1", false, text);
  ASSERT_TRUE(first);
  EXPECT_EQ(text, "2001:db8::1");
  EXPECT_FALSE(xff_address("unknown", true, text));
}

}  // namespace
}  // namespace mimamori::net
