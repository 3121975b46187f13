#ifndef RWK_CLAUNCH_H
#define RWK_CLAUNCH_H
#endif
