#include "mimamori/pdf/document.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace mimamori::pdf {
namespace {

namespace fs = std::filesystem;

// A temporary folder for one test, removed afterwards.
class PdfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mimamori-pdf-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& bytes, const std::string& name = "doc.pdf") {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

  static std::string run(const std::string& command) {
    std::string out;
    FILE* f = ::popen(command.c_str(), "r");
    if (!f) return out;
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) out.append(buf.data(), n);
    ::pclose(f);
    return out;
  }

  // The text of one page (1-based) or of all pages (0), with layout-free reading order.
  std::string text(const fs::path& pdf, int page = 0) {
    std::string range =
        page > 0 ? " -f " + std::to_string(page) + " -l " + std::to_string(page) : "";
    return run("pdftotext -enc UTF-8" + range + " '" + pdf.string() + "' -");
  }

  fs::path dir_;
};

Metadata titled(std::string title) {
  Metadata m;
  m.title = std::move(title);
  return m;
}

// Removes white space, since pdftotext may break a wrapped line anywhere.
std::string squeeze(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\f') out += c;
  }
  return out;
}

TEST_F(PdfTest, JapaneseTextHeadingsAndMetadataComeBackOut) {
  Document doc({.title = "月次レポート 2026年11月",
                .author = "見守りサービス",
                .subject = "報告",
                .keywords = "mimamori",
                .footer = "株式会社テスト 御中"});
  doc.title("月次セキュリティレポート", "2026年11月1日〜30日");
  doc.heading("今月の状態");
  doc.paragraph(
      "今月は重大なインシデントはありませんでした。<b>タグ</b> & 記号もそのまま表示されます。");
  doc.heading("補足", 2);
  doc.bullets({"パスワードを定期的に見直しましょう。", "OSの更新を適用しましょう。"});
  doc.note("出典: 見守りサービス");
  std::string bytes = doc.finish();
  ASSERT_EQ(bytes.substr(0, 5), "%PDF-");
  fs::path p = write(bytes);

  std::string t = squeeze(text(p));
  EXPECT_NE(t.find("月次セキュリティレポート"), std::string::npos) << t;
  EXPECT_NE(t.find("今月の状態"), std::string::npos);
  // Plain text, not markup: the tag characters are shown as written.
  EXPECT_NE(t.find("<b>タグ</b>&記号"), std::string::npos) << t;
  EXPECT_NE(t.find("・パスワードを定期的に見直しましょう。"), std::string::npos) << t;
  EXPECT_NE(t.find("株式会社テスト御中1ページ"), std::string::npos) << t;

  std::string info = run("pdfinfo '" + p.string() + "'");
  EXPECT_NE(info.find("月次レポート 2026年11月"), std::string::npos) << info;
  EXPECT_NE(info.find("見守りサービス"), std::string::npos) << info;
  EXPECT_NE(squeeze(info).find("Pages:1"), std::string::npos) << info;
  // The Japanese font is embedded, so the page reads the same on a machine without it.
  std::string fonts = run("pdffonts '" + p.string() + "'");
  EXPECT_NE(fonts.find("IPAexGothic"), std::string::npos) << fonts;
}

TEST_F(PdfTest, LongParagraphsAndTablesContinueOnNewPagesWithTheHeaderRepeated) {
  Document doc(titled("表"));
  doc.heading("長い段落");
  std::string para;
  for (int i = 0; i < 40; ++i) para += "段落" + std::to_string(i) + "番目の文です。";
  doc.paragraph(para);
  Table t{{{"番号", 1, Align::kRight}, {"端末名", 3}, {"状態", 2, Align::kCenter}}, {}};
  for (int i = 0; i < 120; ++i) {
    t.rows.push_back({std::to_string(i), "端末-" + std::to_string(i), i % 2 ? "正常" : "停止"});
  }
  t.rows.push_back({"only-one-cell"});
  doc.table(t);
  int pages = doc.page_count();
  fs::path p = write(doc.finish());
  ASSERT_GE(pages, 3);

  std::string all = squeeze(text(p));
  for (int i = 0; i < 40; ++i) {
    EXPECT_NE(all.find("段落" + std::to_string(i) + "番目"), std::string::npos) << i;
  }
  for (int i = 0; i < 120; ++i) {
    EXPECT_NE(all.find("端末-" + std::to_string(i) + (i % 2 ? "正常" : "停止")), std::string::npos)
        << "row " << i;
  }
  EXPECT_NE(all.find("only-one-cell"), std::string::npos);
  // Every page after the table began repeats its header.
  for (int page = 2; page <= pages; ++page) {
    EXPECT_NE(squeeze(text(p, page)).find("番号端末名状態"), std::string::npos) << "page " << page;
    EXPECT_NE(squeeze(text(p, page)).find(std::to_string(page) + "ページ"), std::string::npos);
  }
  // Every page renders to a PNG image.
  run("pdftoppm -r 20 -png '" + p.string() + "' '" + (dir_ / "page").string() + "'");
  int pngs = 0;
  for (const auto& e : fs::directory_iterator(dir_)) pngs += e.path().extension() == ".png";
  EXPECT_EQ(pngs, pages);
}

// Counts pixels of the chart palette's first colour (a blue) in a PPM rendering of page 1.
int blue_pixels(const fs::path& ppm) {
  std::ifstream f(ppm, std::ios::binary);
  std::string magic;
  int w = 0, h = 0, max = 0;
  f >> magic >> w >> h >> max;
  f.get();
  if (magic != "P6" || w <= 0 || h <= 0) return -1;
  int n = 0;
  for (int i = 0; i < w * h; ++i) {
    unsigned char px[3];
    if (!f.read(reinterpret_cast<char*>(px), 3)) break;
    if (px[2] > 120 && px[0] < 80 && px[1] > 60 && px[1] < 120) ++n;
  }
  return n;
}

TEST_F(PdfTest, BarChartDrawsBarsInProportionToTheValues) {
  auto render = [&](std::vector<double> values, const std::string& name) {
    Document doc(titled("chart"));
    doc.chart({.kind = Chart::Kind::kBar,
               .title = "カテゴリ別アラート件数",
               .unit = "件",
               .categories = {"マルウェア", "不正アクセス", "情報漏えい"},
               .series = {{"件数", values}}});
    fs::path p = write(doc.finish(), name + ".pdf");
    std::string t = squeeze(text(p));
    EXPECT_NE(t.find("カテゴリ別アラート件数"), std::string::npos) << t;
    EXPECT_NE(t.find("不正アクセス"), std::string::npos) << t;
    run("pdftoppm -r 50 -f 1 -l 1 -singlefile '" + p.string() + "' '" + (dir_ / name).string() +
        "'");
    return blue_pixels(dir_ / (name + ".ppm"));
  };
  int none = render({0, 0, 0}, "zero");
  int small = render({1, 0, 10}, "small");
  int large = render({10, 10, 10}, "large");
  EXPECT_EQ(none, 0);
  EXPECT_GT(small, 100);
  // Three full bars against one full bar and a tenth: about 3 / 1.1 times the area.
  EXPECT_GT(large, small * 2);
  EXPECT_LT(large, small * 4);
}

TEST_F(PdfTest, LineChartWithSeveralSeriesShowsItsLegendAndAxis) {
  Document doc(titled("line"));
  doc.chart({.kind = Chart::Kind::kLine,
             .title = "日別の件数",
             .unit = "件",
             .categories = {"1日", "2日", "3日", "4日"},
             .series = {{"ネットワーク", {3, 5, 2, 8}}, {"端末", {1, 0, 4, 2}}}});
  Chart empty;
  empty.title = "空";
  doc.chart(empty);
  fs::path p = write(doc.finish());
  std::string t = squeeze(text(p));
  EXPECT_NE(t.find("日別の件数"), std::string::npos);
  EXPECT_NE(t.find("ネットワーク"), std::string::npos);
  EXPECT_NE(t.find("端末"), std::string::npos);
  EXPECT_NE(t.find("4日"), std::string::npos);
  // The value axis runs in round steps up to the largest value (8: 0, 2, 4, 6, 8).
  EXPECT_NE(t.find("86420"), std::string::npos) << t;
  EXPECT_EQ(t.find("空"), std::string::npos) << "a chart without categories draws nothing";
}

TEST_F(PdfTest, InvalidUtf8FromADeviceIsShownWithReplacementCharacters) {
  Document doc(titled("bad"));
  doc.paragraph(std::string("host-\xff\xfe-名前"));
  Table t{{{"名前"}}, {{std::string("\xc3(")}}};
  doc.table(t);
  fs::path p = write(doc.finish());
  std::string s = squeeze(text(p));
  EXPECT_NE(s.find("host-"), std::string::npos) << s;
  EXPECT_NE(s.find("-名前"), std::string::npos) << s;
}

}  // namespace
}  // namespace mimamori::pdf
