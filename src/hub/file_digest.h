// Content hashes the hub publishes for its files, computed with OpenSSL's libcrypto: the
// sha256 of an LFS file (its lfs.sha256 and X-Linked-Etag) and the git blob id of a small file
// (sha1 over "blob SIZE\0" + contents, its blobId and ETag).
#pragma once

#include <filesystem>
#include <string>

namespace mxlm::hub {

// Lowercase hex digests of a whole file; throw mxlm::Error when it cannot be read.
std::string sha256_file_hex(const std::filesystem::path& path);
std::string git_blob_sha1_hex(const std::filesystem::path& path);

}  // namespace mxlm::hub
