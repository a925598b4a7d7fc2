#include "kube/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <sstream>
#include <utility>

#include "kube/exec_credential.h"

namespace kube {

namespace {

// libcurl's global state must be set up once, before any thread uses it.
void ensureCurlInitialised() {
  static const CURLcode initialised = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)initialised;
}

size_t appendBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

size_t collectHeader(char* data, size_t size, size_t count, void* user) {
  const std::string_view line(data, size * count);
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    auto& headers = *static_cast<std::map<std::string, std::string>*>(user);
    headers[lowercase(std::string(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  } else if (line.rfind("HTTP/", 0) == 0) {
    // A new status line (after a 100 Continue, say): headers so far belonged to another response.
    static_cast<std::map<std::string, std::string>*>(user)->clear();
  }
  return size * count;
}

curl_blob blobOf(const std::string& pem) {
  return curl_blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
}

std::string readTokenFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return trim(text.str());
}

class HeaderList {
 public:
  HeaderList() = default;
  HeaderList(HeaderList&& other) noexcept : list_(std::exchange(other.list_, nullptr)) {}
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;
  HeaderList& operator=(HeaderList&&) = delete;
  ~HeaderList() { curl_slist_free_all(list_); }

  void add(const std::string& header) { list_ = curl_slist_append(list_, header.c_str()); }
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

}  // namespace

struct HttpTransport::Share {
  CURLSH* handle = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;

  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* self) {
    static_cast<Share*>(self)->locks[static_cast<size_t>(data)].lock();
  }
  static void unlock(CURL*, curl_lock_data data, void* self) {
    static_cast<Share*>(self)->locks[static_cast<size_t>(data)].unlock();
  }
};

TokenSource::TokenSource(const ClientConfig& config, std::chrono::seconds refresh_interval, Clock& clock)
    : static_token_(config.bearer_token),
      file_(config.bearer_token_file),
      refresh_interval_(refresh_interval),
      clock_(clock) {}

std::string TokenSource::token() {
  if (file_.empty()) return static_token_;
  std::lock_guard lock(mutex_);
  const MonoTime now = clock_.now();
  if (now >= next_read_) {
    // Keep the last good token when a rotation is half-written or the file is briefly gone.
    if (std::string fresh = readTokenFile(file_); !fresh.empty()) cached_ = std::move(fresh);
    next_read_ = now + refresh_interval_;
  }
  return cached_;
}

HttpTransport::HttpTransport(ClientConfig config, Clock& clock)
    : config_(std::move(config)),
      tokens_(config_, std::chrono::seconds(60), clock),
      exec_(config_.exec ? std::make_unique<ExecCredentialSource>(config_, ExecOptions{.clock = &clock}) : nullptr),
      share_(std::make_unique<Share>()) {
  share_->handle = curl_share_init();
  curl_share_setopt(share_->handle, CURLSHOPT_LOCKFUNC, &Share::lock);
  curl_share_setopt(share_->handle, CURLSHOPT_UNLOCKFUNC, &Share::unlock);
  curl_share_setopt(share_->handle, CURLSHOPT_USERDATA, share_.get());
  curl_share_setopt(share_->handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  curl_share_setopt(share_->handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
}

HttpTransport::~HttpTransport() {
  for (void* handle : idle_handles_) curl_easy_cleanup(static_cast<CURL*>(handle));
  curl_share_cleanup(share_->handle);
}

Result<std::unique_ptr<HttpTransport>> HttpTransport::create(const ClientConfig& config, Clock& clock) {
  ensureCurlInitialised();
  if (config.server.empty()) return configError("no API server URL in " + config.source);
  if (config.client_cert_pem.empty() != config.client_key_pem.empty()) {
    return configError(config.source + ": a client certificate needs its key, and a key its certificate");
  }
  return std::unique_ptr<HttpTransport>(new HttpTransport(config, clock));
}

void* HttpTransport::acquireHandle() {
  {
    std::lock_guard lock(pool_mutex_);
    if (!idle_handles_.empty()) {
      void* handle = idle_handles_.back();
      idle_handles_.pop_back();
      return handle;
    }
  }
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_SHARE, share_->handle);
  curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM-based DNS timeouts
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // gzip when the server offers it
  if (!config_.ca_pem.empty()) {
    curl_blob ca = blobOf(config_.ca_pem);
    curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca);
  }
  if (!config_.client_cert_pem.empty()) {
    curl_blob cert = blobOf(config_.client_cert_pem);
    curl_blob key = blobOf(config_.client_key_pem);
    curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &key);
    curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
  }
  if (config_.insecure_skip_tls_verify) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  return curl;
}

void HttpTransport::releaseHandle(void* handle) {
  std::lock_guard lock(pool_mutex_);
  idle_handles_.push_back(handle);
}

std::size_t HttpTransport::closeIdleConnections(std::size_t keep) {
  std::vector<void*> closing;
  {
    std::lock_guard lock(pool_mutex_);
    if (idle_handles_.size() <= keep) return 0;
    // The pool is a stack: the front holds the handles used longest ago.
    const auto end = idle_handles_.end() - static_cast<std::ptrdiff_t>(keep);
    closing.assign(idle_handles_.begin(), end);
    idle_handles_.erase(idle_handles_.begin(), end);
  }
  for (void* handle : closing) curl_easy_cleanup(static_cast<CURL*>(handle));
  return closing.size();
}

// Headers of one request, built from the request and the current token.
void HttpTransport::prepare(void* handle, const HttpRequest& request, const void* headers) {
  CURL* curl = static_cast<CURL*>(handle);
  const std::string url = config_.server + request.path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, static_cast<const curl_slist*>(headers));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  if (request.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);  // also drops a body left from the handle's last use
  } else {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
  }
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
}

Error HttpTransport::transportError(const HttpRequest& request, int curl_code) const {
  return Error{.kind = ErrorKind::kTransport,
               .message = request.method + " " + config_.server + request.path + ": " +
                          curl_easy_strerror(static_cast<CURLcode>(curl_code))};
}

Error HttpTransport::stoppedError(const HttpRequest& request, std::string_view when) const {
  return Error{.kind = ErrorKind::kTransport,
               .message = request.method + " " + config_.server + request.path + ": stopped " + std::string(when)};
}

namespace {

HeaderList requestHeaders(const HttpRequest& request, const std::string& token) {
  HeaderList headers;
  headers.add("Accept: " + request.accept);
  headers.add("User-Agent: aphex-kube/0.1");
  if (!request.body.empty() || !request.content_type.empty()) {
    headers.add("Content-Type: " + (request.content_type.empty() ? "application/json" : request.content_type));
  }
  if (!token.empty()) headers.add("Authorization: Bearer " + token);
  return headers;
}

// Clears the pointers a handle holds into one call's buffers before it returns to the pool.
void detach(CURL* curl) {
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, nullptr);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, nullptr);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, nullptr);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, nullptr);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 1L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, nullptr);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, nullptr);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 0L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 0L);
}

struct StreamState {
  CURL* curl;
  const std::function<bool(std::string_view)>* on_data;
  std::stop_token stop;
  std::string error_body;  // a non-2xx answer is collected, not streamed
  bool stopped_by_handler = false;
};

size_t streamBody(char* data, size_t size, size_t count, void* user) {
  auto& state = *static_cast<StreamState*>(user);
  long status = 0;
  curl_easy_getinfo(state.curl, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) {
    state.error_body.append(data, size * count);
    return size * count;
  }
  if (!(*state.on_data)(std::string_view(data, size * count))) {
    state.stopped_by_handler = true;
    return 0;  // makes libcurl end the transfer
  }
  return size * count;
}

// An error status the server sent before reading the request body (a 401 or 403 for a POST):
// Go's HTTP/2 server then resets the stream, which libcurl reports as a partial transfer even
// though the status arrived, and often without the body. The status is the server's answer;
// calling it a transport failure would hide a 401, and the exec plugin re-run it calls for.
bool answeredDespiteReset(CURLcode code, long status) { return code == CURLE_PARTIAL_FILE && status >= 400; }

// libcurl's progress callback: a non-zero answer aborts the transfer (CURLE_ABORTED_BY_CALLBACK).
// `user` is the request's std::stop_token.
int checkStop(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::stop_token*>(user)->stop_requested() ? 1 : 0;
}

void abortWhenStopped(CURL* curl, const std::stop_token& stop) {
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &checkStop);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &stop);
}

}  // namespace

Result<HttpTransport::Auth> HttpTransport::currentAuth() {
  if (!exec_) return Auth{.token = tokens_.token(), .exec = nullptr};
  auto credential = exec_->get();
  if (!credential) return std::move(credential).error();
  return Auth{.token = (*credential)->token, .exec = std::move(*credential)};
}

Result<HttpResponse> HttpTransport::authenticated(const Attempt& attempt) {
  auto auth = currentAuth();
  if (!auth) return std::move(auth).error();
  auto response = attempt(*auth);
  if (!exec_ || !response || response->status != 401) return response;
  // A plugin's credential can be revoked or rotated before its stated expiry. As client-go does,
  // a 401 sends us back to the plugin, and the request is repeated once with what it gives.
  exec_->invalidate(auth->exec);
  auto renewed = currentAuth();
  if (!renewed) return std::move(renewed).error();
  return attempt(*renewed);
}

// libcurl compares the certificate blob before reusing a connection or a TLS session, so a
// rotated certificate never rides on a connection made with the previous one.
void HttpTransport::applyExecCertificate(void* handle, const Auth& auth) const {
  if (!exec_) return;  // the configuration's certificate, if any, was set when the handle was made
  CURL* curl = static_cast<CURL*>(handle);
  if (auth.exec->client_cert_pem.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, nullptr);
    curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, nullptr);
    return;
  }
  curl_blob cert = blobOf(auth.exec->client_cert_pem);
  curl_blob key = blobOf(auth.exec->client_key_pem);
  curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &cert);
  curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
  curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &key);
  curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
}

Result<HttpResponse> HttpTransport::send(const HttpRequest& request, std::stop_token stop) {
  return authenticated([&](const Auth& auth) -> Result<HttpResponse> { return sendOnce(request, stop, auth); });
}

Result<HttpResponse> HttpTransport::sendOnce(const HttpRequest& request, const std::stop_token& stop,
                                             const Auth& auth) {
  if (stop.stop_requested()) return stoppedError(request, "before it was sent");
  CURL* curl = static_cast<CURL*>(acquireHandle());
  HttpResponse response;
  const HeaderList headers = requestHeaders(request, auth.token);
  prepare(curl, request, headers.get());
  applyExecCertificate(curl, auth);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &appendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &collectHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  abortWhenStopped(curl, stop);
  const CURLcode code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  detach(curl);
  if (code == CURLE_ABORTED_BY_CALLBACK) {
    curl_easy_cleanup(curl);  // abandoned mid-exchange: never reuse its connection
    return stoppedError(request, "before the server answered");
  }
  releaseHandle(curl);
  if (code != CURLE_OK && !answeredDespiteReset(code, response.status)) return transportError(request, code);
  return response;
}

Result<HttpResponse> HttpTransport::stream(const HttpRequest& request,
                                           const std::function<bool(std::string_view)>& on_data,
                                           std::stop_token stop, StreamOptions options) {
  // Repeating a stream after a 401 is safe: a non-2xx answer never reaches on_data.
  return authenticated([&](const Auth& auth) -> Result<HttpResponse> {
    return streamOnce(request, on_data, stop, options, auth);
  });
}

Result<HttpResponse> HttpTransport::streamOnce(const HttpRequest& request,
                                               const std::function<bool(std::string_view)>& on_data,
                                               const std::stop_token& stop, StreamOptions options,
                                               const Auth& auth) {
  CURL* curl = static_cast<CURL*>(acquireHandle());
  HttpResponse response;
  StreamState state{.curl = curl, .on_data = &on_data, .stop = stop};
  const HeaderList headers = requestHeaders(request, auth.token);
  prepare(curl, request, headers.get());
  applyExecCertificate(curl, auth);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &streamBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &collectHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  abortWhenStopped(curl, state.stop);
  // Idle detection: less than 1 byte/s for idle_timeout ends the stream (bookmarks arrive
  // about once a minute, so a healthy watch is never idle that long).
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.idle_timeout.count()));
  const CURLcode code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  detach(curl);
  // An interrupted transfer leaves the connection mid-response: never reuse that handle.
  if (code == CURLE_OK) {
    releaseHandle(curl);
  } else {
    curl_easy_cleanup(curl);
  }
  const bool ended_on_purpose = code == CURLE_ABORTED_BY_CALLBACK || state.stopped_by_handler;
  if (code != CURLE_OK && !ended_on_purpose && !answeredDespiteReset(code, response.status)) {
    return transportError(request, code);
  }
  response.body = std::move(state.error_body);
  return response;
}

}  // namespace kube
