//! Emulator of the Alibaba Cloud APIs flinkform uses, speaking the real wire protocol
