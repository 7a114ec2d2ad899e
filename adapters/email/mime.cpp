// GMime glue. GObjects are held by GPtr (unref on scope exit), so no path leaks one.
#include "adapters/email/mime.h"

#include <gmime/gmime.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

namespace email {
namespace {

using contracts::Error;
using contracts::ErrorCode;

struct Unref {
  void operator()(gpointer object) const { g_object_unref(object); }
};
template <class T>
using GPtr = std::unique_ptr<T, Unref>;

struct GFree {
  void operator()(gpointer p) const { g_free(p); }
};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::string trimmed(std::string_view text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  const auto end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

GPtr<GMimeObject> text_part(const std::string& text) {
  GMimeTextPart* part = g_mime_text_part_new_with_subtype("plain");
  g_mime_text_part_set_text(part, text.c_str());  // picks charset utf-8 and a safe encoding
  return GPtr<GMimeObject>(GMIME_OBJECT(part));
}

GPtr<GMimeObject> attachment_part(const Attachment& a) {
  auto slash = a.content_type.find('/');
  std::string type = slash == std::string::npos ? "application" : a.content_type.substr(0, slash);
  std::string subtype = slash == std::string::npos ? "octet-stream" : a.content_type.substr(slash + 1);
  GMimePart* part = g_mime_part_new_with_type(type.c_str(), subtype.c_str());
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(a.data.data(), a.data.size()));
  GPtr<GMimeDataWrapper> content(
      g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(part, content.get());
  g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
  g_mime_object_set_disposition(GMIME_OBJECT(part), GMIME_DISPOSITION_ATTACHMENT);
  if (!a.filename.empty()) g_mime_part_set_filename(part, a.filename.c_str());
  return GPtr<GMimeObject>(GMIME_OBJECT(part));
}

std::string decoded_content(GMimePart* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (content == nullptr) return {};
  GPtr<GMimeStream> out(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(content, out.get());
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out.get()));
  return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

void collect_attachment(GMimeObject* /*parent*/, GMimeObject* object, gpointer user_data) {
  if (!GMIME_IS_PART(object)) return;
  auto* mail = static_cast<ParsedMail*>(user_data);
  GMimePart* part = GMIME_PART(object);
  GMimeContentType* type = g_mime_object_get_content_type(object);
  const char* filename = g_mime_part_get_filename(part);
  const bool is_text_body = g_mime_content_type_is_type(type, "text", "*") && filename == nullptr &&
                            !g_mime_part_is_attachment(part);
  if (is_text_body) {
    if (mail->text.empty() && g_mime_content_type_is_type(type, "text", "plain")) {
      if (GMIME_IS_TEXT_PART(object)) {
        // GMime converts the part's own charset to UTF-8.
        std::unique_ptr<char, GFree> text(g_mime_text_part_get_text(GMIME_TEXT_PART(object)));
        if (text) mail->text = text.get();
      } else {
        mail->text = decoded_content(part);
      }
    }
    return;
  }
  std::unique_ptr<char, GFree> mime_type(g_mime_content_type_get_mime_type(type));
  mail->attachments.push_back({filename ? filename : "", lower(mime_type ? mime_type.get() : ""), decoded_content(part)});
}

}  // namespace

void init_mime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

std::string build_mail(const OutgoingMail& mail) {
  init_mime();
  GPtr<GMimeMessage> message(g_mime_message_new(TRUE));
  g_mime_message_add_mailbox(message.get(), GMIME_ADDRESS_TYPE_FROM, mail.from_name.c_str(), mail.from.c_str());
  g_mime_message_add_mailbox(message.get(), GMIME_ADDRESS_TYPE_TO, nullptr, mail.to.c_str());
  g_mime_message_set_subject(message.get(), mail.subject.c_str(), "utf-8");
  g_mime_message_set_message_id(message.get(), mail.message_id.c_str());
  const auto date_ms = mail.date != 0 ? mail.date : contracts::now_millis();
  GDateTime* date = g_date_time_new_from_unix_utc(date_ms / 1000);
  g_mime_message_set_date(message.get(), date);
  g_date_time_unref(date);
  GMimeObject* headers = GMIME_OBJECT(message.get());
  if (!mail.in_reply_to.empty()) {
    const std::string ref = "<" + mail.in_reply_to + ">";
    g_mime_object_set_header(headers, "In-Reply-To", ref.c_str(), nullptr);
    g_mime_object_set_header(headers, "References", ref.c_str(), nullptr);
  }
  g_mime_object_set_header(headers, "Auto-Submitted", mail.auto_submitted.c_str(), nullptr);

  GPtr<GMimeObject> body = text_part(mail.text);
  if (!mail.attachments.empty()) {
    GPtr<GMimeObject> mixed(GMIME_OBJECT(g_mime_multipart_new_with_subtype("mixed")));
    g_mime_multipart_add(GMIME_MULTIPART(mixed.get()), body.get());
    for (const auto& a : mail.attachments) {
      g_mime_multipart_add(GMIME_MULTIPART(mixed.get()), attachment_part(a).get());
    }
    body = std::move(mixed);
  }
  g_mime_message_set_mime_part(message.get(), body.get());

  GMimeFormatOptions* options = g_mime_format_options_clone(nullptr);
  g_mime_format_options_set_newline_format(options, GMIME_NEWLINE_FORMAT_DOS);
  std::unique_ptr<char, GFree> text(g_mime_object_to_string(GMIME_OBJECT(message.get()), options));
  g_mime_format_options_free(options);
  return text ? std::string(text.get()) : std::string();
}

Result<ParsedMail> parse_mail(std::string_view raw) {
  init_mime();
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(raw.data(), raw.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  GPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), nullptr));
  if (!message) return Error{ErrorCode::kInvalidPayload, "not a mail message"};

  ParsedMail out;
  if (const char* id = g_mime_message_get_message_id(message.get())) out.message_id = id;
  if (const char* subject = g_mime_message_get_subject(message.get())) out.subject = subject;
  InternetAddressList* from = g_mime_message_get_from(message.get());
  if (from != nullptr && internet_address_list_length(from) > 0) {
    InternetAddress* first = internet_address_list_get_address(from, 0);
    if (INTERNET_ADDRESS_IS_MAILBOX(first)) {
      out.from = lower(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(first)));
    }
  }
  GMimeObject* headers = GMIME_OBJECT(message.get());
  if (const char* auto_submitted = g_mime_object_get_header(headers, "Auto-Submitted")) {
    out.auto_submitted_value = trimmed(lower(auto_submitted));
    out.auto_submitted = out.auto_submitted_value.rfind("no", 0) != 0;
  }
  if (const char* return_path = g_mime_object_get_header(headers, "Return-Path")) {
    std::string path = trimmed(return_path);
    if (path.size() >= 2 && path.front() == '<' && path.back() == '>') path = path.substr(1, path.size() - 2);
    out.return_path = lower(trimmed(path));
  }
  if (const char* precedence = g_mime_object_get_header(headers, "Precedence")) {
    out.precedence = trimmed(lower(precedence));
  }
  for (const char* name : {"List-Id", "List-Unsubscribe"}) {
    if (out.list_header.empty() && g_mime_object_get_header(headers, name) != nullptr) out.list_header = name;
  }
  g_mime_message_foreach(message.get(), collect_attachment, &out);
  return out;
}

}  // namespace email
