# Jupyter's search paths for this clone (sourced by lab.sh, notebooks.sh and setup.sh after
# runtime_env.sh): the tslab kernelspec that setup writes lives under .jupyter-local/, so Jupyter
# must look there first. Config and runtime files stay inside the clone too (git-ignored), so
# nothing in the user's ~/.jupyter changes what the notebooks do.
# Expects $root (the repository root) to be set by the sourcing script.
: "${root:?jupyter_env.sh: set root to the repository root before sourcing}"
export DDTB_JUPYTER_HOME="$root/.jupyter-local"
export JUPYTER_DATA_DIR="$DDTB_JUPYTER_HOME/share/jupyter"
export JUPYTER_PATH="$JUPYTER_DATA_DIR${JUPYTER_PATH:+:$JUPYTER_PATH}"
export JUPYTER_CONFIG_DIR="$DDTB_JUPYTER_HOME/config"
export JUPYTER_RUNTIME_DIR="$DDTB_JUPYTER_HOME/runtime"
# The kernelspec's directory name (and the kernel name notebooks record in their metadata).
export DDTB_KERNEL_NAME=tslab
