// A loopback TCP relay between a client and the API server that a test can cut, to simulate a
// network partition: cut() drops every open connection and turns new ones away until restore().
// TLS passes through untouched (the relay sees only bytes).
//
// Thread safety: cut(), restore() and port() may be called from any thread; one thread accepts,
// and each connection gets a relay thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace aphex::testing {

class TcpProxy {
 public:
  explicit TcpProxy(std::uint16_t target_port) : target_port_(target_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address = loopback(0);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 || ::listen(listener_, 64) != 0) {
      throw std::runtime_error("TcpProxy: cannot listen on loopback");
    }
    socklen_t length = sizeof(address);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::jthread([this](std::stop_token stop) { acceptLoop(stop); });
  }

  ~TcpProxy() {
    acceptor_.request_stop();
    ::shutdown(listener_, SHUT_RDWR);
    acceptor_.join();
    ::close(listener_);
    cut();
    for (auto& relay : relays_) relay.request_stop();
    relays_.clear();
  }

  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  std::uint16_t port() const { return port_; }

  void cut() {
    cut_ = true;
    std::lock_guard lock(mutex_);
    for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
  }
  void restore() { cut_ = false; }

 private:
  static sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
  }

  void acceptLoop(std::stop_token stop) {
    while (!stop.stop_requested()) {
      const int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) continue;
      if (cut_) {
        ::close(client);
        continue;
      }
      const int server = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in target = loopback(target_port_);
      if (::connect(server, reinterpret_cast<sockaddr*>(&target), sizeof(target)) != 0) {
        ::close(client);
        ::close(server);
        continue;
      }
      {
        std::lock_guard lock(mutex_);
        open_.insert(client);
        open_.insert(server);
      }
      std::lock_guard lock(mutex_);
      relays_.emplace_back([this, client, server](std::stop_token) { relay(client, server); });
    }
  }

  void relay(int client, int server) {
    pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    char buffer[16384];
    bool open = true;
    while (open && ::poll(fds, 2, 200) >= 0) {
      for (int i = 0; i < 2 && open; ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const ssize_t read = ::recv(fds[i].fd, buffer, sizeof(buffer), 0);
        open = read > 0 && ::send(fds[1 - i].fd, buffer, static_cast<size_t>(read), MSG_NOSIGNAL) == read;
      }
    }
    std::lock_guard lock(mutex_);
    open_.erase(client);
    open_.erase(server);
    ::close(client);
    ::close(server);
  }

  std::uint16_t target_port_;
  std::uint16_t port_ = 0;
  int listener_ = -1;
  std::atomic<bool> cut_{false};
  std::mutex mutex_;
  std::set<int> open_;                  // guarded by mutex_
  std::vector<std::jthread> relays_;    // guarded by mutex_
  std::jthread acceptor_;
};

}  // namespace aphex::testing
