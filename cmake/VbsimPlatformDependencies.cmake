# What the platform (scenario loading and running) needs beyond SystemC; the models and sw/
# do not, so find_package(vbsim COMPONENTS models) looks for SystemC alone.
find_package(yaml-cpp REQUIRED)
find_package(Threads REQUIRED)
