// Tickets by e-mail, end to end on both backends: Japanese mail built here (ISO-2022-JP,
// Shift_JIS, UTF-8; base64 and quoted-printable; RFC 2047 words; multipart with attachments) is
// sent by a real SMTP client (libcurl) and over LMTP on a socket to the server's listener, the
// desk's reply reaches a real SMTP sink threaded, the customer's answer to it lands on the same
// ticket and reopens it, unknown senders go to the triage inbox, and bad mail is refused with a
// reason and stores nothing.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <iconv.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "desk/desk.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/hash.h"
#include "mimamori/core/http_client.h"
#include "mimamori/core/text.h"
#include "notify/notify.h"
#include "store/sql.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

// UTF-8 text in another charset (glibc's iconv).
std::string encode(const std::string& utf8, const char* charset) {
  iconv_t cd = iconv_open(charset, "UTF-8");
  EXPECT_NE(cd, reinterpret_cast<iconv_t>(-1)) << charset;
  std::string out(utf8.size() * 4 + 16, '\0');
  char* in = const_cast<char*>(utf8.data());
  size_t in_left = utf8.size();
  char* o = out.data();
  size_t out_left = out.size();
  EXPECT_NE(iconv(cd, &in, &in_left, &o, &out_left), static_cast<size_t>(-1)) << charset;
  EXPECT_NE(iconv(cd, nullptr, nullptr, &o, &out_left), static_cast<size_t>(-1));  // back to ASCII
  iconv_close(cd);
  out.resize(out.size() - out_left);
  return out;
}

// An RFC 2047 "B" word of `utf8` in `charset`.
std::string word(const std::string& utf8, const char* charset) {
  return fmt::format("=?{}?B?{}?=", charset, core::base64(encode(utf8, charset)));
}

// Quoted-printable with soft line breaks.
std::string qp(const std::string& bytes) {
  std::string out;
  size_t col = 0;
  for (unsigned char c : bytes) {
    std::string piece;
    if (c == '\n') {
      out += "\r\n";
      col = 0;
      continue;
    }
    if (c == '=' || c >= 0x80 || c < 0x20) {
      piece = fmt::format("={:02X}", c);
    } else {
      piece = std::string(1, static_cast<char>(c));
    }
    if (col + piece.size() > 72) {
      out += "=\r\n";
      col = 0;
    }
    out += piece;
    col += piece.size();
  }
  return out;
}

std::string b64_lines(const std::string& bytes) {
  std::string b = core::base64(bytes), out;
  for (size_t i = 0; i < b.size(); i += 76) out += b.substr(i, 76) + "\r\n";
  return out;
}

// A header's value in a stored mail ("" when absent).
std::string header(const std::string& mail, const std::string& name) {
  std::istringstream in(mail);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) break;
    if (line.size() > name.size() + 1 && core::iequals(line.substr(0, name.size()), name) &&
        line[name.size()] == ':') {
      return std::string(core::trim(line.substr(name.size() + 1)));
    }
  }
  return {};
}

class DeskMail : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    auto url = fresh_store_url(GetParam(), &why);
    if (url.empty()) GTEST_SKIP() << why;
    ASSERT_GT(sink_.port, 0) << "python3-aiosmtpd missing?";
    ts_ = TestServer::start(url, [&](ServerOptions& o) {
      o.deliver_notifications = false;  // the test delivers, so nothing races it
      o.notify.smtp_url = fmt::format("smtp://127.0.0.1:{}", sink_.port);
      o.notify.smtp_from = "soc@example.jp";
      o.desk.mail_enabled = true;
      o.desk.mail_port = 0;
      o.desk.address = "desk@soc.example.jp";
      o.desk.max_mail_bytes = 512 * 1024;
      o.desk.max_attachment_bytes = 128 * 1024;
      o.desk.max_attachments = 4;
      options_ = o;
    });
    ASSERT_TRUE(ts_);
    port_ = ts_->server->desk_mail_port();
    ASSERT_GT(port_, 0);
    admin_ = std::make_unique<Client>(ts_->admin());
    a_ = admin_->post("/api/v1/customers", R"({"name":"A社"})").str("id");
    for (auto [email, role, cust] : {std::tuple{"taro@a.example.jp", "customer_user", a_},
                                     std::tuple{"desk@soc.example.jp", "desk", std::string()}}) {
      json::object o{{"email", email}, {"role", role}, {"password", "desk test pass 1"}};
      if (!cust.empty()) o["customer_id"] = cust;
      ASSERT_EQ(admin_->post("/api/v1/users", json::serialize(o)).status, 201);
    }
  }

  // Sends `msg` with libcurl's SMTP client; the error says what the listener answered.
  core::Result<void> smtp_send(const std::string& from, const std::string& msg) {
    core::HttpClientOptions o;
    o.protocols = "smtp";
    core::HttpClient client(std::move(o));
    return client.send_mail({fmt::format("smtp://127.0.0.1:{}", port_),
                             "<" + from + ">",
                             {"<desk@soc.example.jp>"},
                             msg});
  }

  // One LMTP transaction on a plain socket: the replies after DATA's end, one per recipient.
  std::vector<std::string> lmtp_send(const std::string& from, int recipients,
                                     const std::string& msg) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    std::string buf;
    auto read_line = [&]() {
      for (;;) {
        auto nl = buf.find("\r\n");
        if (nl != std::string::npos) {
          std::string l = buf.substr(0, nl);
          buf.erase(0, nl + 2);
          return l;
        }
        char tmp[4096];
        ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0) return std::string("EOF");
        buf.append(tmp, static_cast<size_t>(n));
      }
    };
    auto reply = [&]() {  // a whole (multi-line) reply
      std::string l;
      do {
        l = read_line();
      } while (l.size() > 3 && l[3] == '-');
      return l;
    };
    auto say = [&](const std::string& s) { ::send(fd, s.data(), s.size(), MSG_NOSIGNAL); };
    EXPECT_EQ(reply().substr(0, 3), "220");
    say("LHLO mx.example.jp\r\n");
    EXPECT_EQ(reply().substr(0, 3), "250");
    say("MAIL FROM:<" + from + ">\r\n");
    EXPECT_EQ(reply().substr(0, 3), "250");
    for (int i = 0; i < recipients; ++i) {
      say(fmt::format("RCPT TO:<desk{}@soc.example.jp>\r\n", i));
      EXPECT_EQ(reply().substr(0, 3), "250");
    }
    say("DATA\r\n");
    EXPECT_EQ(reply().substr(0, 3), "354");
    std::string body;
    std::istringstream in(msg);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      body += (line.starts_with('.') ? "." : "") + line + "\r\n";
    }
    say(body + ".\r\n");
    std::vector<std::string> out;
    for (int i = 0; i < recipients; ++i) out.push_back(reply());
    say("QUIT\r\n");
    reply();
    ::close(fd);
    return out;
  }

  std::vector<json::value> tickets() {
    const json::value r = admin_->get("/api/v1/desk/tickets?customer_id=" + a_).json();
    std::vector<json::value> out;
    for (const auto& t : r.at("items").as_array()) out.push_back(t);
    return out;
  }

  json::value ticket(const std::string& id) {
    return admin_->get("/api/v1/desk/tickets/" + id).json();
  }

  // Sends what the outbox holds to the sink; returns the mails the sink has.
  std::vector<std::string> deliver() {
    Notifier n(options_.notify);
    n.deliver_due(ts_->server->store(), core::now().micros);
    return sink_.files();
  }

  Sink sink_{"smtp"};
  ServerOptions options_;
  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
  std::string a_;
  uint16_t port_ = 0;
};

const std::string kPdf = "%PDF-1.4\n% 見積書\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";

std::string iso2022_question() {
  return "From: " + word("山田太郎", "ISO-2022-JP") +
         " <Taro@A.example.jp>\r\n"
         "To: desk@soc.example.jp\r\n"
         "Subject: " +
         word("見積もりのご相談", "ISO-2022-JP") +
         "\r\n"
         "Message-ID: <q1.20261207@a.example.jp>\r\n"
         "Date: Mon, 07 Dec 2026 10:00:00 +0900\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
         "\r\n"
         "--b1\r\n"
         "Content-Type: text/plain; charset=ISO-2022-JP\r\n"
         "Content-Transfer-Encoding: 7bit\r\n"
         "\r\n" +
         encode("ルーターの設置費用を教えてください。\n添付の構成です。\n", "ISO-2022-JP") +
         "\r\n--b1\r\n"
         "Content-Type: application/pdf\r\n"
         "Content-Disposition: attachment; filename*=UTF-8''%E6%A7%8B%E6%88%90%E5%9B%B3.pdf\r\n"
         "Content-Transfer-Encoding: base64\r\n"
         "\r\n" +
         b64_lines(kPdf) + "--b1--\r\n";
}

TEST_P(DeskMail, JapaneseMailBecomesATicketAndTheThreadGoesBothWays) {
  // 1. An ISO-2022-JP mail with an attachment, by SMTP.
  auto sent = smtp_send("taro@a.example.jp", iso2022_question());
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  auto list = tickets();
  ASSERT_EQ(list.size(), 1u);
  const std::string id(list[0].at("id").as_string());
  auto t = ticket(id);
  EXPECT_EQ(t.at("subject").as_string(), "見積もりのご相談");
  EXPECT_EQ(t.at("source").as_string(), "email");
  EXPECT_EQ(t.at("requester_email").as_string(), "taro@a.example.jp");
  EXPECT_EQ(t.at("requester_name").as_string(), "山田太郎");
  const auto& first = t.at("messages").as_array()[0];
  EXPECT_NE(std::string(first.at("body").as_string()).find("ルーターの設置費用を教えてください。"),
            std::string::npos)
      << first;
  EXPECT_NE(std::string(first.at("body").as_string()).find("添付の構成です。"), std::string::npos);
  ASSERT_EQ(first.at("attachments").as_array().size(), 1u);
  const auto& file = first.at("attachments").as_array()[0];
  EXPECT_EQ(file.at("filename").as_string(), "構成図.pdf");
  EXPECT_EQ(file.at("sha256").as_string(), core::sha256_hex(kPdf));
  EXPECT_EQ(file.at("sniffed_type").as_string(), "application/pdf");

  // The same mail delivered again is taken once.
  ASSERT_TRUE(smtp_send("taro@a.example.jp", iso2022_question()).ok());
  EXPECT_EQ(tickets().size(), 1u);
  EXPECT_EQ(ticket(id).at("messages").as_array().size(), 1u);

  // 2. The desk answers; the answer reaches the SMTP sink threaded under the question.
  Client desk(ts_->base);
  ASSERT_EQ(desk.login("desk@soc.example.jp", "desk test pass 1").status, 200);
  ASSERT_EQ(desk.post("/api/v1/desk/tickets/" + id + "/reply",
                      R"({"text":"設置費用は 30,000円（税込）です。"})")
                .status,
            200);
  std::string reply_mail;
  auto mails = deliver();
  // The sink stores what it received a moment after answering.
  for (int i = 0; i < 50 && reply_mail.empty(); ++i) {
    for (const auto& m : mails) {
      if (m.find("taro@a.example.jp") != std::string::npos) reply_mail = m;
    }
    if (reply_mail.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      mails = deliver();
    }
  }
  ASSERT_FALSE(reply_mail.empty())
      << "no reply reached the sink: " << admin_->get("/api/v1/notifications?limit=50").body;
  EXPECT_EQ(header(reply_mail, "In-Reply-To"), "<q1.20261207@a.example.jp>");
  EXPECT_EQ(header(reply_mail, "References"), "<q1.20261207@a.example.jp>");
  EXPECT_EQ(header(reply_mail, "Reply-To"), "desk@soc.example.jp");
  const std::string reply_id = header(reply_mail, "Message-ID");
  ASSERT_FALSE(reply_id.empty());
  auto body_at = reply_mail.find("\r\n\r\n");
  ASSERT_NE(body_at, std::string::npos);
  std::string b64;
  for (char c : reply_mail.substr(body_at + 4)) {
    if (c != '\r' && c != '\n') b64 += c;
  }
  auto body = core::base64_decode(b64);
  ASSERT_TRUE(body);
  EXPECT_NE(body->find("設置費用は 30,000円（税込）です。"), std::string::npos);

  // 3. The ticket is closed; the customer answers the reply in Shift_JIS quoted-printable over
  // LMTP to two recipients: one message on the same ticket, which opens again.
  ASSERT_EQ(desk.post("/api/v1/desk/tickets/" + id + "/close", "{}").status, 200);
  const std::string answer =
      "From: taro@a.example.jp\r\n"
      "To: desk@soc.example.jp\r\n"
      "Subject: " +
      word("Re: 見積もりのご相談", "SHIFT_JIS") +
      "\r\n"
      "Message-ID: <q2.20261207@a.example.jp>\r\n"
      "In-Reply-To: " +
      reply_id +
      "\r\n"
      "References: <q1.20261207@a.example.jp> " +
      reply_id +
      "\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=Shift_JIS\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n"
      "\r\n" +
      qp(encode("ありがとうございます。～来週の設置でお願いします。①\n.先頭がピリオドの行\n",
                "CP932")) +
      "\r\n";
  auto replies = lmtp_send("taro@a.example.jp", 2, answer);
  ASSERT_EQ(replies.size(), 2u);
  for (const auto& r : replies) EXPECT_EQ(r.substr(0, 3), "250") << r;
  EXPECT_EQ(tickets().size(), 1u);
  t = ticket(id);
  EXPECT_EQ(t.at("status").as_string(), "open");
  const auto& msgs = t.at("messages").as_array();
  const auto& last = msgs[msgs.size() - 1];
  EXPECT_EQ(last.at("via").as_string(), "email");
  EXPECT_EQ(last.at("author_kind").as_string(), "customer");
  EXPECT_NE(std::string(last.at("body").as_string()).find("来週の設置でお願いします。"),
            std::string::npos)
      << last;
  EXPECT_NE(std::string(last.at("body").as_string()).find("\n.先頭がピリオドの行"),
            std::string::npos);
  // CP932's own characters (～ FULLWIDTH TILDE, ① ) survive a mail that says Shift_JIS.
  EXPECT_NE(std::string(last.at("body").as_string()).find("ありがとうございます。～"),
            std::string::npos);
  EXPECT_NE(std::string(last.at("body").as_string()).find("①"), std::string::npos);
}

TEST_P(DeskMail, UnknownSendersGoToTheTriageInboxAndAssigningLosesNothing) {
  const std::string attachment(5000, 'x');
  const std::string mail = "From: =?UTF-8?B?" + core::base64("新規 花子") +
                           "?= <hanako@unknown.example.jp>\r\n"
                           "To: desk@soc.example.jp\r\n"
                           "Subject: =?UTF-8?Q?=E5=B0=8E=E5=85=A5=E3=81=AE=E7=9B=B8=E8=AB=87?=\r\n"
                           "Message-ID: <n1@unknown.example.jp>\r\n"
                           "MIME-Version: 1.0\r\n"
                           "Content-Type: multipart/mixed; boundary=\"zz\"\r\n"
                           "\r\n"
                           "--zz\r\n"
                           "Content-Type: multipart/alternative; boundary=\"yy\"\r\n"
                           "\r\n"
                           "--yy\r\n"
                           "Content-Type: text/plain; charset=UTF-8\r\n"
                           "Content-Transfer-Encoding: base64\r\n"
                           "\r\n" +
                           b64_lines("サービスの導入を検討しています。") +
                           "--yy\r\n"
                           "Content-Type: text/html; charset=UTF-8\r\n"
                           "\r\n"
                           "<p>HTML</p>\r\n"
                           "--yy--\r\n"
                           "--zz\r\n"
                           "Content-Type: text/plain; name=\"list.txt\"\r\n"
                           "Content-Disposition: attachment; filename=\"list.txt\"\r\n"
                           "\r\n" +
                           attachment + "\r\n--zz--\r\n";
  auto sent = smtp_send("hanako@unknown.example.jp", mail);
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  EXPECT_TRUE(tickets().empty());
  auto inbox = admin_->get("/api/v1/desk/inbox?status=new");
  ASSERT_EQ(inbox.status, 200) << inbox.body;
  const json::value inbox_json = inbox.json();
  const auto& items = inbox_json.at("items").as_array();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].at("subject").as_string(), "導入の相談");
  EXPECT_EQ(items[0].at("from_name").as_string(), "新規 花子");
  EXPECT_EQ(items[0].at("body").as_string(), "サービスの導入を検討しています。");
  EXPECT_EQ(items[0].at("attachments").as_int64(), 1);
  const std::string inbox_id(items[0].at("id").as_string());
  auto made = admin_->post("/api/v1/desk/inbox/" + inbox_id + "/assign",
                           json::serialize(json::object{{"customer_id", a_}}));
  ASSERT_EQ(made.status, 201) << made.body;
  auto t = ticket(made.str("id"));
  EXPECT_EQ(t.at("requester_email").as_string(), "hanako@unknown.example.jp");
  const auto& files = t.at("messages").as_array()[0].at("attachments").as_array();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].at("sha256").as_string(), core::sha256_hex(attachment));
  // Once only.
  EXPECT_EQ(admin_
                ->post("/api/v1/desk/inbox/" + inbox_id + "/assign",
                       json::serialize(json::object{{"customer_id", a_}}))
                .status,
            409);
}

TEST_P(DeskMail, BadMailIsRefusedWithTheReasonAndStoresNothing) {
  auto count = [&] {
    int64_t n = 0;
    auto st = ts_->server->store().transact(false, [&](SqlTx& tx) -> Status {
      auto r = tx.q(
          "SELECT (SELECT COUNT(*) FROM desk_tickets) + (SELECT COUNT(*) FROM desk_inbox) + "
          "(SELECT COUNT(*) FROM desk_messages)");
      if (!r.ok()) return r.error();
      n = r->i64(0, 0);
      return {};
    });
    EXPECT_TRUE(st.ok());
    return n;
  };
  const std::string head =
      "From: taro@a.example.jp\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
      "Content-Type: text/plain\r\n\r\nhello\r\n";
  auto file = [](size_t n) {
    return "--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; "
           "filename=\"f.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
           b64_lines(std::string(n, '\x01'));
  };
  struct Case {
    std::string name, mail, code, says;
  };
  std::string nested = "From: taro@a.example.jp\r\nSubject: nest\r\nMIME-Version: 1.0\r\n";
  for (int i = 0; i < 300; ++i) {
    nested += fmt::format("Content-Type: multipart/mixed; boundary=\"n{}\"\r\n\r\n--n{}\r\n", i, i);
  }
  nested += "Content-Type: text/plain\r\n\r\ndeep\r\n";
  const std::vector<Case> cases = {
      {"over the mail limit", head + file(400 * 1024) + "--b--\r\n", "552", "limit"},
      {"attachment over its limit", head + file(200 * 1024) + "--b--\r\n", "552", "attachment"},
      {"too many attachments",
       head + file(10) + file(10) + file(10) + file(10) + file(10) + "--b--\r\n", "552",
       "attachments"},
      {"no From", "Subject: x\r\n\r\nbody\r\n", "554", "From"},
      {"nested multiparts", nested, "552", "multipart"},
  };
  const int64_t before = count();
  for (const auto& c : cases) {
    auto replies = lmtp_send("taro@a.example.jp", 1, c.mail);
    ASSERT_EQ(replies.size(), 1u) << c.name;
    EXPECT_EQ(replies[0].substr(0, 3), c.code) << c.name << ": " << replies[0];
    EXPECT_NE(replies[0].find(c.says), std::string::npos) << c.name << ": " << replies[0];
  }
  // By SMTP a declared size over the limit is refused before the data.
  auto big = smtp_send("taro@a.example.jp", head + file(600 * 1024) + "--b--\r\n");
  EXPECT_FALSE(big.ok());
  EXPECT_EQ(count(), before);
  // The listener still answers.
  auto ok = lmtp_send("taro@a.example.jp", 1,
                      "From: taro@a.example.jp\r\nSubject: ok\r\n\r\nstill here\r\n");
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].substr(0, 3), "250") << ok[0];
}

INSTANTIATE_TEST_SUITE_P(Backends, DeskMail, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace mimamori::server::testing
