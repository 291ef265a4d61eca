#pragma once
// Reports: the monthly customer report (a Japanese PDF on the pdf layer) from the store's
// incidents, alerts and devices of one JST month. Gathering is a function over the store
// (tenant-scoped through Store::allow), rendering a pure function of the gathered data, so
// a benchmark or a test can render without a server. The folder-level header of reports/.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/server/report_mail.h"
#include "mimamori/server/store.h"

namespace mimamori::server {

/// A time as the PDFs show it: "2026-11-27 14:05" in JST, or "—" for none.
std::string jst_minute(int64_t micros);
/// A severity in the reports' Japanese: 緊急, 高, 中, 低, 情報.
std::string_view severity_ja(std::string_view severity);

/// A calendar month in JST.
struct ReportMonth {
  int year = 0, month = 0;
  /// First and last instant (exclusive), UTC micros.
  int64_t start() const;
  int64_t end() const;
  /// `2026-11`.
  std::string key() const;
};

/// Parses `YYYY-MM` (months 1..12, years 2000..2999); 400 naming the value otherwise.
Result<ReportMonth> parse_report_month(std::string_view text);
/// The month before the JST month of `micros` (what the report of the 1st covers).
ReportMonth previous_month(int64_t micros);

/// Everything one month's report shows.
struct MonthlyReportData {
  std::string customer_id, customer_name;
  ReportMonth month;
  int64_t generated_at = 0;
  struct CategoryCount {
    std::string category, title;
    int64_t alerts = 0, detections = 0;  ///< aggregated rows, raw detections behind them
  };
  std::vector<CategoryCount> categories;  ///< most detections first
  struct Notable {
    std::string signature, category_title, severity;
    int64_t detections = 0;
  };
  std::vector<Notable> notable;  ///< high and critical signatures, most first (at most 10)
  struct IncidentLine {
    std::string title, category, severity, status, resolution;
    int64_t created_at = 0, closed_at = 0;
  };
  std::vector<IncidentLine> incidents;  ///< active during the month, oldest first
  struct DeviceLine {
    std::string id, hostname, kind, status;
    int64_t last_seen = 0;
    double watched_hours = 0;    ///< hours of the month it was enrolled and not silent
    int64_t silent_periods = 0;  ///< 監視停止 incidents of the month
    double silent_hours = 0;
  };
  std::vector<DeviceLine> devices;
  int64_t suppressed_detections = 0;  ///< known-harmless detections stored without incidents
  std::string plan_name;              ///< of the active contract, when there is one
};

/// Reads one customer's month from the store (provider roles any customer; customer roles
/// their own, others 404).
Result<MonthlyReportData> gather_monthly_report(Store& store, const Principal& p,
                                                std::string_view customer_id,
                                                const ReportMonth& month);
/// The report as PDF bytes (A4, Japanese).
std::string render_monthly_report(const MonthlyReportData& data);

/// One month whose report can be read (the PDF is written when asked for).
struct ReportListing {
  std::string month;      ///< YYYY-MM (JST)
  int64_t mailed_at = 0;  ///< when the report mail of the 1st queued it; 0: not mailed
  int64_t messages = 0;   ///< how many e-mails it went out in
};

/// The months with a report for one customer, newest first: every complete JST month from
/// the month its service began (the earlier of its registration and its first contract's
/// start) to the month before `now`'s; none in the first month. `total` counts them all,
/// `items` holds at most `limit` from `offset`. Provider roles any customer; customer roles
/// their own (others 404, audited).
struct ReportListingPage {
  std::vector<ReportListing> items;
  int64_t total = 0;
  std::string first_month;  ///< the first month with a report (or that will have one)
};
Result<ReportListingPage> list_monthly_reports(Store& store, const Principal& p,
                                               std::string_view customer_id, int64_t now,
                                               int64_t limit, int64_t offset);

/// The monthly report mail: on the 1st (JST) the previous month's report of every customer
/// whose report mail is on goes, as a PDF attachment, to each of the customer's enabled e-mail
/// channels (its report contacts) through the outbox. Once per customer-month: a row of
/// report_mailings, written with the messages in one transaction, marks it done (a second
/// instance or a restart finds it and sends nothing). Examines at most `max_customers`
/// customers not yet done (the rest follow on later calls); returns how many were mailed.
/// With `any_day`, runs on any day of the month (tests, `send now` of a month).
Result<int64_t> mail_monthly_reports(Store& store, int64_t now, int64_t max_customers,
                                     bool any_day = false);
/// Queues one customer's report of `month` now, again if it was sent before (provider_admin,
/// or that customer's admin); returns the number of messages queued (0: no e-mail contact).
Result<int64_t> send_monthly_report(Store& store, const Principal& p, std::string_view customer_id,
                                    const ReportMonth& month, int64_t now);
/// Whether a customer's monthly report is mailed (provider roles any customer; customer roles
/// their own, others 404).
Result<bool> report_mail_enabled(Store& store, const Principal& p, std::string_view customer_id);
/// Turns it on or off (provider_admin, or that customer's admin); audited.
Status set_report_mail(Store& store, const Principal& p, std::string_view customer_id,
                       bool enabled);

}  // namespace mimamori::server
