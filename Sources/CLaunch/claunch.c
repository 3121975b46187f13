#include "claunch.h"
