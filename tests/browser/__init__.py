"""Browser tests: headless Chromium (Debian's, launched by its path) driven by Playwright through the
example project's demo, its relying party and its admin, as a person would click through them."""
