#include "cli/output_file.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <streambuf>

#include <zlib.h>

#include <fmt/format.h>

#include "hardware/input/diagnostics.hpp"
#include "hardware/input/yaml_reader.hpp"

namespace scaleplan {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what, int error) {
  std::string message = what;
  if (error != 0)
    message += std::string(": ") + std::strerror(error);
  throw InputError({{{path, 0, 0}, "", message}});
}

// A gzip stream (RFC 1952) over another stream: bytes written are deflated in blocks into
// `sink`. finish() ends the stream and reports whether everything reached `sink`.
class GzipBuffer final : public std::streambuf {
 public:
  explicit GzipBuffer(std::ostream& sink) : sink_(sink) {
    // 15 + 16: the largest window, with a gzip header and trailer rather than zlib's. The fastest
    // level: a trace of a thousand ranks is hundreds of megabytes of repetitive JSON, which level
    // 1 deflates about three times as fast as the default level 6, to a file a little larger.
    ok_ = deflateInit2(&zs_, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    setp(input_.data(), input_.data() + input_.size());
  }
  ~GzipBuffer() override { deflateEnd(&zs_); }
  GzipBuffer(const GzipBuffer&) = delete;
  GzipBuffer& operator=(const GzipBuffer&) = delete;

  bool finish() {
    ok_ = ok_ && deflate_pending(Z_FINISH);
    return ok_;
  }

 private:
  int_type overflow(int_type c) override {
    if (!ok_ || !deflate_pending(Z_NO_FLUSH))
      return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override { return ok_ && deflate_pending(Z_SYNC_FLUSH) && sink_.flush() ? 0 : -1; }

  // Deflates what is in the put area into `sink_`; `flush` as zlib's deflate().
  bool deflate_pending(int flush) {
    zs_.next_in = reinterpret_cast<Bytef*>(pbase());
    zs_.avail_in = static_cast<uInt>(pptr() - pbase());
    int status = Z_OK;
    do {
      zs_.next_out = reinterpret_cast<Bytef*>(output_.data());
      zs_.avail_out = static_cast<uInt>(output_.size());
      status = deflate(&zs_, flush);
      if (status == Z_STREAM_ERROR)
        return false;
      const auto produced = static_cast<std::streamsize>(output_.size() - zs_.avail_out);
      if (!sink_.write(output_.data(), produced))
        return false;
    } while (zs_.avail_out == 0 || (flush == Z_FINISH && status != Z_STREAM_END));
    setp(input_.data(), input_.data() + input_.size());
    return true;
  }

  std::ostream& sink_;
  z_stream zs_{};
  bool ok_ = false;
  std::array<char, 1 << 16> input_{};
  std::array<char, 1 << 16> output_{};
};

}  // namespace

void write_output_file(const std::string& path, const std::function<void(std::ostream&)>& write,
                       bool gzip) {
  std::ofstream file(path, std::ios::binary);
  if (!file)
    fail(path, "cannot open for writing", errno);
  errno = 0;
  if (gzip) {
    GzipBuffer buffer(file);
    std::ostream compressed(&buffer);
    write(compressed);
    if (!compressed || !buffer.finish())
      fail(path, "cannot write the file", errno);
  } else {
    write(file);
  }
  file.close();
  if (!file)
    fail(path, "cannot write the file", errno);
}

void write_output_file(const std::string& path, std::string_view text) {
  write_output_file(path, [text](std::ostream& out) {
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  });
}

std::optional<Diagnostic> unreadable_yaml(const std::string& path, std::uint64_t values,
                                          const std::string& what, const std::string& advice) {
  if (values <= max_yaml_nodes)
    return std::nullopt;
  return Diagnostic{{path, 0, 0},
                    "",
                    fmt::format("the {} would hold {} YAML values, lists and maps, more than the "
                                "{} a reader takes (yaml-cpp needs about {} bytes each), so "
                                "nothing could read the file back; {}",
                                what, values, max_yaml_nodes, yaml_bytes_per_node, advice)};
}

void check_standard_output() {
  errno = 0;
  std::cout.flush();
  if (!std::cout)
    fail("<standard output>", "cannot write", errno);
}

}  // namespace scaleplan
