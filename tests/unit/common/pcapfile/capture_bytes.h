#pragma once

// Builds capture files byte by byte (either byte order), for reader tests.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace synmap::testing {

// Appends integers in a chosen byte order.
class ByteWriter {
 public:
  explicit ByteWriter(bool big_endian) : big_endian_(big_endian) {}
  void U8(uint8_t v) { bytes_.push_back(v); }
  void U16(uint16_t v) { Put(v, 2); }
  void U32(uint32_t v) { Put(v, 4); }
  void U64(uint64_t v) { Put(v, 8); }
  void Raw(const std::vector<uint8_t>& data) {
    bytes_.insert(bytes_.end(), data.begin(), data.end());
  }
  void Pad4() {
    while (bytes_.size() % 4 != 0) {
      bytes_.push_back(0);
    }
  }
  size_t size() const { return bytes_.size(); }
  std::vector<uint8_t>& bytes() { return bytes_; }
  void PatchU32(size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) {
      const int shift = big_endian_ ? 8 * (3 - i) : 8 * i;
      bytes_[at + i] = static_cast<uint8_t>(v >> shift);
    }
  }

 private:
  void Put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) {
      const int shift = big_endian_ ? 8 * (n - 1 - i) : 8 * i;
      bytes_.push_back(static_cast<uint8_t>(v >> shift));
    }
  }
  bool big_endian_;
  std::vector<uint8_t> bytes_;
};

// A packet as a test expects to read it back.
struct TestPacket {
  int link_type = 1;
  int64_t timestamp_ns = 0;
  std::vector<uint8_t> data;
  uint32_t wire_length = 0;
};

// Classic pcap: `nanos` selects magic a1b23c4d.
inline std::vector<uint8_t> ClassicPcap(bool big_endian, bool nanos, uint32_t snaplen,
                                        uint32_t linktype, const std::vector<TestPacket>& packets) {
  ByteWriter w(big_endian);
  w.U32(nanos ? 0xa1b23c4d : 0xa1b2c3d4);
  w.U16(2);
  w.U16(4);
  w.U32(0);
  w.U32(0);
  w.U32(snaplen);
  w.U32(linktype);
  for (const TestPacket& p : packets) {
    w.U32(static_cast<uint32_t>(p.timestamp_ns / 1'000'000'000));
    const int64_t frac = p.timestamp_ns % 1'000'000'000;
    w.U32(static_cast<uint32_t>(nanos ? frac : frac / 1000));
    w.U32(static_cast<uint32_t>(p.data.size()));
    w.U32(p.wire_length);
    w.Raw(p.data);
  }
  return w.bytes();
}

// pcapng block writer: Begin(type) ... End() fills both lengths.
class PcapngWriter {
 public:
  explicit PcapngWriter(bool big_endian) : w_(big_endian) {}
  void Section() {
    Begin(0x0a0d0d0a);
    w_.U32(0x1a2b3c4d);
    w_.U16(1);
    w_.U16(0);
    w_.U64(~uint64_t{0});
    End();
  }
  // `tsresol` < 0: no if_tsresol option. `tsoffset_s` != 0 adds if_tsoffset.
  void Interface(uint16_t linktype, uint32_t snaplen, int tsresol, int64_t tsoffset_s = 0) {
    Begin(1);
    w_.U16(linktype);
    w_.U16(0);
    w_.U32(snaplen);
    if (tsresol >= 0) {
      w_.U16(9);
      w_.U16(1);
      w_.U8(static_cast<uint8_t>(tsresol));
      w_.Pad4();
    }
    if (tsoffset_s != 0) {
      w_.U16(14);
      w_.U16(8);
      w_.U64(static_cast<uint64_t>(tsoffset_s));
    }
    w_.U16(0);
    w_.U16(0);
    End();
  }
  // `comment_bytes` > 0 adds opt_comment options (of up to 65,532 bytes each) holding that
  // many bytes, then opt_endofopt: a block as long as one wants around a small packet.
  void Enhanced(uint32_t if_id, uint64_t units, const std::vector<uint8_t>& data, uint32_t len,
                size_t comment_bytes = 0) {
    Begin(6);
    w_.U32(if_id);
    w_.U32(static_cast<uint32_t>(units >> 32));
    w_.U32(static_cast<uint32_t>(units));
    w_.U32(static_cast<uint32_t>(data.size()));
    w_.U32(len);
    w_.Raw(data);
    w_.Pad4();
    if (comment_bytes > 0) {
      for (size_t left = comment_bytes; left > 0;) {
        const size_t n = std::min<size_t>(left, 65'532);
        w_.U16(1);
        w_.U16(static_cast<uint16_t>(n));
        for (size_t i = 0; i < n; ++i) {
          w_.U8('c');
        }
        w_.Pad4();
        left -= n;
      }
      w_.U16(0);
      w_.U16(0);
    }
    End();
  }
  void Obsolete(uint16_t if_id, uint64_t units, const std::vector<uint8_t>& data, uint32_t len) {
    Begin(2);
    w_.U16(if_id);
    w_.U16(0);
    w_.U32(static_cast<uint32_t>(units >> 32));
    w_.U32(static_cast<uint32_t>(units));
    w_.U32(static_cast<uint32_t>(data.size()));
    w_.U32(len);
    w_.Raw(data);
    w_.Pad4();
    End();
  }
  void Simple(const std::vector<uint8_t>& data) {
    Begin(3);
    w_.U32(static_cast<uint32_t>(data.size()));
    w_.Raw(data);
    w_.Pad4();
    End();
  }
  // A block of a type readers skip (Name Resolution Block, 4).
  void Unknown(uint32_t type, size_t body_bytes) {
    Begin(type);
    for (size_t i = 0; i < body_bytes; ++i) {
      w_.U8(0xee);
    }
    w_.Pad4();
    End();
  }
  std::vector<uint8_t>& bytes() { return w_.bytes(); }
  size_t size() const { return w_.size(); }
  // Byte offset just after each block written so far.
  const std::vector<size_t>& block_ends() const { return block_ends_; }

 private:
  void Begin(uint32_t type) {
    start_ = w_.size();
    w_.U32(type);
    w_.U32(0);
  }
  void End() {
    const uint32_t total = static_cast<uint32_t>(w_.size() - start_ + 4);
    w_.U32(total);
    w_.PatchU32(start_ + 4, total);
    block_ends_.push_back(w_.size());
  }
  ByteWriter w_;
  size_t start_ = 0;
  std::vector<size_t> block_ends_;
};

inline void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes, size_t n) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(n));
}
inline void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  WriteFile(path, bytes, bytes.size());
}

}  // namespace synmap::testing
