# The two commands of the README. Everything else lives in CMake (build/).
BUILD ?= build
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all run test deps configure build clean

all: build

deps:
	@sh scripts/deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# Starts the platform in demo mode on http://127.0.0.1:$${PORT:-8080}; Ctrl-C stops it
# and the PostgreSQL cluster it started under var/.
run: build
	@exec ./$(BUILD)/tramit serve --demo

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD)
