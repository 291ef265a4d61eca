// Decompression of ingest bodies with a hard output limit, so that a small bomb cannot grow
// memory: the limit is checked while inflating, never after.

#include <zlib.h>
#include <zstd.h>

#include "mimamori/server/ingest.h"

namespace mimamori::server {
namespace {

core::Result<std::string> gunzip(std::string_view in, size_t limit) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    return core::make_error_code(500, "gzip: inflateInit2 failed");
  }
  std::string out;
  out.resize(std::min<size_t>(limit + 1, std::max<size_t>(in.size() * 4, 4096)));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  size_t have = 0;
  int rc = Z_OK;
  while (true) {
    if (have == out.size()) {
      if (out.size() > limit) break;
      out.resize(std::min(out.size() * 2, limit + 1));
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + have);
    zs.avail_out = static_cast<uInt>(out.size() - have);
    rc = inflate(&zs, Z_NO_FLUSH);
    have = out.size() - zs.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // truncated input
    if (rc != Z_OK && rc != Z_BUF_ERROR) break;
  }
  std::string msg = zs.msg ? zs.msg : "";
  inflateEnd(&zs);
  if (have > limit) {
    return core::make_error_code(413, "body inflates to more than {} bytes", limit);
  }
  if (rc != Z_STREAM_END) {
    return core::make_error_code(400, "gzip body is not decodable ({})",
                                 msg.empty() ? "truncated" : msg);
  }
  out.resize(have);
  return out;
}

core::Result<std::string> unzstd(std::string_view in, size_t limit) {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  if (!dctx) return core::make_error_code(500, "zstd: cannot create a context");
  std::string out;
  out.resize(std::min<size_t>(limit + 1, std::max<size_t>(in.size() * 4, 4096)));
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  size_t have = 0, rc = 1;
  while (true) {
    if (have == out.size()) {
      if (out.size() > limit) break;
      out.resize(std::min(out.size() * 2, limit + 1));
    }
    ZSTD_outBuffer ob{out.data() + have, out.size() - have, 0};
    rc = ZSTD_decompressStream(dctx, &ob, &ib);
    have += ob.pos;
    if (ZSTD_isError(rc)) break;
    if (rc == 0 && ib.pos == ib.size) break;
    if (ib.pos == ib.size && ob.pos < ob.size) break;  // needs more input: truncated
  }
  ZSTD_freeDCtx(dctx);
  if (have > limit) {
    return core::make_error_code(413, "body decompresses to more than {} bytes", limit);
  }
  if (ZSTD_isError(rc)) {
    return core::make_error_code(400, "zstd body is not decodable ({})", ZSTD_getErrorName(rc));
  }
  if (rc != 0) return core::make_error_code(400, "zstd body is truncated");
  out.resize(have);
  return out;
}

}  // namespace

core::Result<std::string> decompress_body(std::string_view encoding, std::string_view body,
                                          size_t limit) {
  if (encoding.empty() || encoding == "identity") {
    if (body.size() > limit) {
      return core::make_error_code(413, "body of {} bytes is over the limit of {} bytes",
                                   body.size(), limit);
    }
    return std::string(body);
  }
  if (encoding == "gzip") return gunzip(body, limit);
  if (encoding == "zstd") return unzstd(body, limit);
  return core::make_error_code(415, "Content-Encoding '{}' is not supported (gzip, zstd or none)",
                               encoding);
}

}  // namespace mimamori::server
