// FileAdapter (adapters/file/file_adapter.h). The order of steps in handle_file and
// handle_delivery is what makes kill -9 safe; adapters/file/README.md walks through every crash
// point.
#include "adapters/file/file_adapter.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <system_error>

#include "adapters/file/durable.h"
#include "adapters/file/log.h"
#include "adapters/sdk/inbound.h"
#include "contracts/digest.h"

namespace file_adapter {
namespace {

namespace fs = std::filesystem;
using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;

constexpr int kFullScanEvery = 10;  // polls between scans when inotify reports nothing
constexpr std::chrono::hours kPruneEvery{1};  // between removals of old delivered-message markers

bool ends_with_json(const std::string& name) {
  if (name.size() < 5) return false;
  std::string ext = name.substr(name.size() - 5);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".json";
}

// Reads a whole file; nullopt when it vanished (the party took it back).
Result<std::optional<std::string>> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return std::optional<std::string>{};
    return Error{ErrorCode::kStorage, "cannot open " + path.string()};
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Error{ErrorCode::kStorage, "cannot read " + path.string()};
  return std::optional<std::string>{std::move(text)};
}

}  // namespace

std::optional<CrashPoint> crash_point_from_name(std::string_view name) {
  if (name.empty() || name == "none") return CrashPoint::kNone;
  if (name == "after-first-submit") return CrashPoint::kAfterFirstSubmit;
  if (name == "before-move") return CrashPoint::kBeforeMove;
  if (name == "before-rename") return CrashPoint::kBeforeRename;
  if (name == "before-ack") return CrashPoint::kBeforeAck;
  return std::nullopt;
}

std::string file_name_for(const std::string& message_id) {
  bool safe = !message_id.empty() && message_id.front() != '.';
  std::string name;
  for (char c : message_id) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    safe = safe && ok;
    name += ok ? c : '_';
  }
  if (safe) return name;
  if (!name.empty() && name.front() == '.') name.front() = '_';
  return name + "-" + contracts::sha256_hex(message_id).substr(0, 8);
}

FileAdapter::FileAdapter(const FileAdapterConfig& config, partner::Client& client,
                         std::string party, CrashPoint crash_at)
    : config_(config),
      client_(client),
      party_(std::move(party)),
      crash_at_(crash_at),
      scanner_(config.inbox, config.stable, config.ignore_suffixes) {}

Result<void> FileAdapter::prepare() {
  for (const auto* dir : {&config_.inbox, &config_.outbox, &config_.processed, &config_.rejected,
                          &config_.state}) {
    if (auto r = ensure_directory(*dir); !r) return r;
  }
  std::size_t stale = remove_stale_temporaries(config_.rejected);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(config_.outbox, ec)) {
    std::error_code entry_ec;
    if (entry.is_directory(entry_ec)) stale += remove_stale_temporaries(entry.path());
  }
  if (stale > 0) log().info("removed stale temporary files count={}", stale);
  prune_markers();
  if (config_.use_inotify) watch_.emplace(config_.inbox);
  log().info("file adapter ready party={} inbox={} outbox={} watch={} csv_mappings={}", party_,
             config_.inbox.string(), config_.outbox.string(),
             watch_ && watch_->is_active() ? "inotify" : "polling", config_.csv.size());
  return {};
}

Result<void> FileAdapter::run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    auto r = step(config_.poll);
    // A stop signal interrupts the wait inside receive(); that is a stop, not a failure.
    if (!r && !stop.load()) return r;
  }
  return {};
}

Result<void> FileAdapter::step(std::chrono::milliseconds wait) {
  auto delivery = client_.receive(wait);
  if (!delivery) return delivery.error();
  if (*delivery) {
    if (auto r = handle_delivery(**delivery); !r) return r;
  }
  const auto now = InboxScanner::Clock::now();
  if (now - last_prune_ >= kPruneEvery) prune_markers();
  const bool look = !watch_ || watch_->changed() || scanner_.has_waiting() ||
                    now - last_full_scan_ >= kFullScanEvery * config_.poll;
  if (!look) return {};
  last_full_scan_ = now;
  return scan_inbox();
}

// Messages of one scan sent together at most; the files beyond wait for the next scan.
constexpr std::size_t kMaxMessagesPerScan = 1000;

struct FileAdapter::PreparedFile {
  std::string name;
  const partner::CsvMapping* mapping = nullptr;
  std::vector<partner::MessageOutcome> outcomes;  // file problems and row errors so far
  std::vector<partner::InboundMessage> messages;  // to submit
};

// Every ready file of the inbox: read and parse them all, submit all their messages together
// (the SDK sends the first alone and the rest in SubmitBatch frames behind it), then finish each
// file with its own answers, in the inbox's order.
Result<void> FileAdapter::scan_inbox() {
  std::vector<PreparedFile> files;
  std::vector<contracts::Submit> submits;
  for (const auto& name : scanner_.ready(InboxScanner::Clock::now())) {
    if (submits.size() >= kMaxMessagesPerScan) break;
    auto prepared = prepare_file(name);
    if (!prepared) return prepared.error();
    if (!*prepared) continue;
    for (const auto& m : (*prepared)->messages) submits.push_back(m.submit);
    files.push_back(std::move(**prepared));
  }
  if (files.empty()) return {};
  auto answers = client_.send_all(submits, [this](std::size_t index, const auto&) {
    if (index == 0) maybe_crash(CrashPoint::kAfterFirstSubmit);
  });
  if (!answers) return answers.error();
  std::size_t first = 0;
  for (auto& file : files) {
    auto r = finish_prepared(file, *answers, first);
    first += file.messages.size();
    if (r) continue;
    if (r.error().code == ErrorCode::kTimeout) {
      // The broker did not answer: the file stays in the inbox and is offered again next scan;
      // what was already accepted comes back as duplicate.
      log().warn("broker did not take the file; it stays in the inbox name={} detail={}", file.name,
                 r.error().detail);
      continue;
    }
    return r;
  }
  return {};
}

Result<std::optional<FileAdapter::PreparedFile>> FileAdapter::prepare_file(const std::string& name) {
  const fs::path path = config_.inbox / name;
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  PreparedFile file;
  file.name = name;
  file.mapping = partner::find_mapping(config_.csv, name);
  const partner::CsvMapping* mapping = file.mapping;
  auto file_problem = [&](std::string code, std::string reason) {
    partner::MessageOutcome o;
    o.errors.push_back({"", std::move(code), std::move(reason)});
    file.outcomes.push_back(std::move(o));
  };

  if (!ec && size > config_.max_file_bytes) {
    file_problem("too_large", "the file is larger than " + std::to_string(config_.max_file_bytes) +
                                  " bytes; split it into smaller files");
  } else if (mapping == nullptr && !ends_with_json(name)) {
    std::string patterns;
    for (const auto& m : config_.csv) patterns += ", " + m.files;
    file_problem("unknown_file", "no mapping for this file name; expected *.json" + patterns);
  } else {
    auto content = read_file(path);
    if (!content) return content.error();
    if (!*content) {
      log().warn("file disappeared before it was read name={}", name);
      scanner_.forget(name);
      return std::optional<PreparedFile>{};
    }
    const partner::InboundSource source{party_, "file:" + party_ + "/" + name};
    auto batch = mapping != nullptr ? partner::parse_csv(**content, *mapping, source)
                                    : partner::parse_json_document(**content, source);
    if (!batch) {
      file_problem(std::string(contracts::to_string(batch.error().code)), batch.error().detail);
    } else {
      for (auto& e : batch->row_errors) {
        partner::MessageOutcome o;
        o.row = e.row;
        o.line = e.line;
        o.contract = mapping != nullptr ? mapping->contract : "";
        o.case_ref = e.case_ref;
        o.errors = std::move(e.errors);
        file.outcomes.push_back(std::move(o));
      }
      file.messages = std::move(batch->messages);
    }
  }
  return std::optional<PreparedFile>(std::move(file));
}

// answers[first + i] answers file.messages[i].
Result<void> FileAdapter::finish_prepared(PreparedFile& file,
                                          std::vector<Result<contracts::Receipt>>& answers,
                                          std::size_t first) {
  const std::string& name = file.name;
  auto& outcomes = file.outcomes;
  for (std::size_t i = 0; i < file.messages.size(); ++i) {
    const auto& message = file.messages[i];
    auto& receipt = answers[first + i];
    if (!receipt) return receipt.error();
    if (receipt->status == contracts::ReceiptStatus::kRejected &&
        receipt->code == ErrorCode::kStorage) {
      // The broker could not commit: not the party's mistake. Keep the file and try again.
      return Error{ErrorCode::kTimeout, "broker storage failure: " + receipt->detail};
    }
    const auto& h = message.submit.header;
    log().debug("submitted name={} row={} message_id={} contract={} status={}", name,
                message.row, h.message_id, h.contract, contracts::to_string(receipt->status));
    outcomes.push_back({message.row, message.line, h.message_id, h.contract, h.case_ref,
                        std::move(*receipt), {}});
  }
  std::stable_sort(outcomes.begin(), outcomes.end(),
                   [](const auto& a, const auto& b) { return a.row < b.row; });

  const bool success = std::all_of(outcomes.begin(), outcomes.end(), partner::is_success);
  std::size_t accepted = 0, duplicate = 0, refused = 0;
  for (const auto& o : outcomes) {
    if (!partner::is_success(o)) ++refused;
    else if (o.receipt->status == contracts::ReceiptStatus::kDuplicate) ++duplicate;
    else ++accepted;
  }
  if (auto r = finish_file(name, success,
                           success ? std::string()
                                   : partner::render_report(name, party_, outcomes, file.mapping));
      !r) {
    return r;
  }
  if (success) {
    log().info("file processed name={} messages={} accepted={} duplicate={}", name,
               outcomes.size(), accepted, duplicate);
  } else {
    log().warn("file rejected name={} messages={} accepted={} duplicate={} refused={}", name,
               outcomes.size(), accepted, duplicate, refused);
  }
  return {};
}

Result<void> FileAdapter::finish_file(const std::string& name, bool success,
                                      const std::string& report) {
  const fs::path& dir = success ? config_.processed : config_.rejected;
  const std::string final_name = free_name(dir, name);
  if (!success) {
    // The report first: a file in rejected/ always has its report beside it.
    if (auto r = write_durably(dir, final_name + ".errors.json", report); !r) return r;
  }
  maybe_crash(CrashPoint::kBeforeMove);
  if (auto r = move_durably(config_.inbox / name, dir / final_name); !r) return r;
  scanner_.forget(name);
  ++(success ? counts_.processed : counts_.rejected);
  if (event_sink_) event_sink_((success ? "processed " : "rejected ") + name);
  return {};
}

Result<void> FileAdapter::handle_delivery(const contracts::Deliver& deliver) {
  const auto& h = deliver.header;
  const std::string base = file_name_for(h.message_id);
  const fs::path marker = config_.state / base;
  const fs::path dir = config_.outbox / file_name_for(h.contract);
  std::error_code ec;

  auto fail = [&](const Error& error) -> Result<void> {
    // The outbox cannot be written (disk full, permissions): hand the delivery back; the broker
    // retries it with a back-off and dead-letters it after max_attempts.
    log().error("cannot write delivery message_id={} contract={} detail={}", h.message_id,
                h.contract, error.detail);
    if (auto r = client_.nack(deliver.delivery_id, "file adapter cannot write the outbox"); !r)
      return r;
    return {};
  };

  if (!fs::exists(marker, ec)) {
    if (auto r = ensure_directory(dir); !r) return fail(r.error());
    if (!fs::exists(dir / (base + ".json"), ec)) {
      for (const auto& m : config_.csv) {
        if (!m.outbound || m.contract != h.contract || m.version != h.version) continue;
        auto csv = partner::render_csv(m, h.case_ref, deliver.payload);
        if (!csv) {
          log().warn("delivery payload cannot be written as CSV message_id={} detail={}",
                     h.message_id, csv.error().detail);
          break;
        }
        if (auto r = write_durably(dir, base + ".csv", *csv); !r) return fail(r.error());
        break;
      }
      // The .json appears last: once it is there, everything for this message is.
      auto r = write_durably(dir, base + ".json", partner::render_outbound_document(deliver),
                             [this] { maybe_crash(CrashPoint::kBeforeRename); });
      if (!r) return fail(r.error());
    }
    if (auto r = touch_durably(marker); !r) return fail(r.error());
    log().info("delivery written message_id={} contract={} sender={} attempt={}", h.message_id,
               h.contract, deliver.sender, deliver.attempt);
  } else {
    log().debug("delivery already written message_id={} attempt={}", h.message_id,
                deliver.attempt);
  }
  maybe_crash(CrashPoint::kBeforeAck);
  if (auto r = client_.ack(deliver.delivery_id); !r) return r;
  ++counts_.written;
  if (event_sink_) event_sink_("written " + h.message_id);
  return {};
}

// A marker only has to outlive the redeliveries of its message: the broker redelivers a message
// whose ack it never committed after its ack timeout, or when the adapter reconnects, so within
// minutes. Markers kept for days cost one empty file per message; kept forever, a full disk.
void FileAdapter::prune_markers() {
  last_prune_ = InboxScanner::Clock::now();
  if (config_.marker_retention.count() == 0) return;
  const auto cutoff = fs::file_time_type::clock::now() - config_.marker_retention;
  const std::size_t removed = remove_files_older_than(config_.state, cutoff);
  if (removed > 0) {
    log().info("delivered-message markers removed count={} older_than_days={}", removed,
               config_.marker_retention.count() / 24);
  }
}

void FileAdapter::maybe_crash(CrashPoint point) {
  if (crash_at_ != point) return;
  log().flush();
  ::kill(::getpid(), SIGKILL);
}

}  // namespace file_adapter
