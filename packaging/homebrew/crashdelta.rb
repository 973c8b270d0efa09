# The Homebrew formula of the tap, as a template: @VERSION@ and @SHA256@ are filled in by
# packaging/homebrew/render.sh from the release's SHA256SUMS (the release workflow attaches the
# result to the release as crashdelta.rb). Never install this file as it is; see README.md here.
class Crashdelta < Formula
  desc "Catch, classify and gate macOS crash reports (Apple GPU driver crashes)"
  homepage "https://github.com/crashdelta/crashdelta"
  url "https://github.com/crashdelta/crashdelta/releases/download/v@VERSION@/crashdelta-@VERSION@-universal-apple-darwin.tar.gz"
  version "@VERSION@"
  sha256 "@SHA256@"
  license any_of: ["MIT", "Apache-2.0"]

  depends_on :macos

  def install
    bin.install "crashdelta"
  end

  test do
    assert_match "crashdelta #{version}", shell_output("#{bin}/crashdelta --version")
  end
end
