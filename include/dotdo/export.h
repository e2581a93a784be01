// Symbol visibility for libdotdo: the library builds with hidden visibility; public API is marked.
#pragma once

#define DOTDO_EXPORT [[gnu::visibility("default")]]
